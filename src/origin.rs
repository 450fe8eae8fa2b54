//! Where a request URL goes, as far as it can be told without a full URL parser.
//!
//! The interceptor attaches the token only to allowed origins. A URL parser (the WHATWG one the
//! runtime has) is the authority, but it is slow to call for every request, so the common forms
//! are recognised here and everything else is left to the parser. This function errs only
//! towards [`Target::Unknown`]: whatever it recognises, the WHATWG parser resolves the same way.
//! (Tabs and newlines, which that parser deletes anywhere in a URL, a leading space or control
//! character, backslashes, user info, upper case, default ports and non-ASCII all go to the
//! parser.)

/// Where a URL points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// An absolute `http:`/`https:` URL whose origin, already in normal form, is this prefix.
    Origin(&'a str),
    /// A relative reference that keeps the base URL's origin (`/path`, `path`, `?q`, `#f`).
    SameAsBase,
    /// Anything else: ask a URL parser.
    Unknown,
}

/// Whether a URL that starts with an origin in normal form (`scheme://host[:port]`, as a URL
/// parser prints it) has exactly that origin, given the character right after the prefix
/// (`None`: the URL ends there). It has when a path, query or fragment starts there, or nothing
/// follows; anything else (`.`, `@`, `:`, a digit, a backslash…) may change the host or the
/// port, and is left to [`classify`].
///
/// This lets a shell test the allowed origins against the URL as the runtime holds it (a prefix
/// comparison and one character) without copying the URL first.
pub fn prefix_is_origin(next: Option<char>) -> bool {
    matches!(next, None | Some('/' | '?' | '#'))
}

/// Classifies a request URL. See the module docs.
pub fn classify(url: &str) -> Target<'_> {
    let bytes = url.as_bytes();
    match bytes.first() {
        None => return Target::SameAsBase,
        Some(&b) if b <= b' ' => return Target::Unknown,
        _ => {}
    }
    if bytes
        .iter()
        .any(|&b| matches!(b, b'\t' | b'\n' | b'\r' | b'\\') || b >= 0x80)
    {
        return Target::Unknown;
    }
    let rest = if let Some(r) = url.strip_prefix("https://") {
        (r, 8, ":443")
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, 7, ":80")
    } else {
        return relative(bytes);
    };
    let (after_scheme, scheme_len, default_port) = rest;
    let end = after_scheme
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(after_scheme.len());
    let authority = after_scheme.as_bytes().get(..end).unwrap_or_default();
    let (host, port) = match authority
        .iter()
        .position(|&b| b == b':')
        .and_then(|i| authority.split_at_checked(i))
    {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !host.starts_with(b".")
        && !host.ends_with(b".")
        && !host.windows(2).any(|w| w == b"..")
        && (!ends_in_a_number(host) || is_dotted_decimal_ipv4(host))
        && !host.starts_with(b"xn--")
        && !host.windows(5).any(|w| w == b".xn--");
    let port_ok = match port {
        None => true,
        // `:` then 1 to 5 digits, no leading zero, not the default port, at most 65535.
        Some(p) => match p.get(1..) {
            Some(digits @ [first, ..]) => {
                digits.len() <= 5
                    && *first != b'0'
                    && digits.iter().all(u8::is_ascii_digit)
                    && p != default_port.as_bytes()
                    && digits
                        .iter()
                        .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))
                        <= 65535
            }
            _ => false,
        },
    };
    if host_ok && port_ok {
        url.get(..scheme_len + end)
            .map_or(Target::Unknown, Target::Origin)
    } else {
        Target::Unknown
    }
}

/// WHATWG URL "ends in a number": the host is parsed as IPv4 (`127.1`, `0x7f.1`, `010.0.0.1`),
/// whose normal form differs from the text.
fn ends_in_a_number(host: &[u8]) -> bool {
    let last = host.rsplit(|&b| b == b'.').next().unwrap_or_default();
    let hex = last
        .strip_prefix(b"0x")
        .or_else(|| last.strip_prefix(b"0X"))
        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
    hex || (!last.is_empty() && last.iter().all(u8::is_ascii_digit))
}

/// An IPv4 address as the WHATWG URL parser serialises it: four parts, each 0–255 in decimal
/// without a leading zero (`127.0.0.1`). Such a host is already in normal form; other numeric
/// forms (`127.1`, `0x7f.0.0.1`, `010.0.0.1`) are not, and go to the parser.
fn is_dotted_decimal_ipv4(host: &[u8]) -> bool {
    let mut parts = 0;
    for part in host.split(|&b| b == b'.') {
        parts += 1;
        let canonical = match part {
            [b'0'] => true,
            [b'1'..=b'9', rest @ ..] => {
                rest.len() <= 2
                    && rest.iter().all(u8::is_ascii_digit)
                    && part.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')) <= 255
            }
            _ => false,
        };
        if !canonical {
            return false;
        }
    }
    parts == 4
}

/// A URL without an `http(s)://` prefix: relative forms that keep the base's origin, or unknown.
fn relative(bytes: &[u8]) -> Target<'static> {
    match bytes {
        // Path-absolute, but not scheme-relative (`//host`).
        [b'/', second, ..] if *second != b'/' => Target::SameAsBase,
        [b'/'] | [b'?', ..] | [b'#', ..] => Target::SameAsBase,
        [first, ..]
            if first.is_ascii_alphanumeric() || matches!(first, b'.' | b'_' | b'~' | b'-') =>
        {
            // A path-relative reference, unless a ':' before the first '/', '?' or '#' makes
            // the start a scheme (`mailto:`, `localhost:8080/`, `data:`).
            let head = bytes
                .iter()
                .take_while(|&&b| !matches!(b, b'/' | b'?' | b'#'));
            if head.clone().any(|&b| b == b':') {
                Target::Unknown
            } else {
                Target::SameAsBase
            }
        }
        _ => Target::Unknown,
    }
}
