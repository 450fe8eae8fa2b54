//! Differential comparison with the `http-auth` crate's `ChallengeParser`, shared by
//! `tests/differential.rs` and the fuzz target. Every intended difference has a name here and a
//! line in the crate docs (`src/challenge.rs`, "Differences from http-auth").

/// How the two parsers compare on one input.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Same challenges (scheme, parameter names and unescaped values), or both reject.
    Same,
    /// A difference this project intends, named.
    Intended(&'static str),
    /// Anything else: a bug in one of the parsers.
    Mismatch(String),
}

type Flat = Vec<(String, Option<String>, Vec<(String, String)>)>;

fn ours(input: &str) -> Result<Flat, reauth::ParseError> {
    reauth::parse_challenges(input).map(|cs| {
        cs.into_iter()
            .map(|c| {
                let params = c
                    .params
                    .iter()
                    .map(|p| (p.name.to_string(), p.value.to_string()))
                    .collect();
                (c.scheme.to_string(), c.token68.map(str::to_string), params)
            })
            .collect()
    })
}

fn theirs(input: &str) -> Result<Flat, String> {
    http_auth::ChallengeParser::new(input)
        .map(|c| {
            c.map(|c| {
                let params = c
                    .params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_unescaped()))
                    .collect();
                (c.scheme.to_string(), None, params)
            })
            .map_err(|e| e.to_string())
        })
        .collect()
}

/// The input with quoted-strings blanked out (`"…"` becomes `""`), for syntax checks.
fn outside_quotes(input: &str) -> String {
    let mut out = String::new();
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            while let Some(q) = chars.next() {
                match q {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        out.push('"');
                        break;
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// Our parse written back in the plainest form both parsers must accept.
fn canonical(parsed: &Flat) -> String {
    let mut out = String::new();
    for (i, (scheme, _, params)) in parsed.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(scheme);
        for (j, (k, v)) in params.iter().enumerate() {
            out.push_str(if j == 0 { " " } else { ", " });
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(&v.replace('\\', "\\\\").replace('"', "\\\""));
            out.push('"');
        }
    }
    out
}

/// Whether a scheme is followed by spaces and then a comma (`Basic ,realm=x`): the auth-param
/// list after the scheme starts with an empty element.
fn scheme_then_comma(bare: &str) -> bool {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let b: Vec<char> = bare.chars().collect();
    (0..b.len()).any(|i| {
        if b[i] != ',' {
            return false;
        }
        let mut j = i;
        while j > 0 && (b[j - 1] == ' ' || b[j - 1] == '\t') {
            j -= 1;
        }
        let token_end = j;
        while j > 0 && is_tchar(b[j - 1]) {
            j -= 1;
        }
        if j == token_end || token_end == i || b[token_end] != ' ' {
            return false;
        }
        while j > 0 && (b[j - 1] == ' ' || b[j - 1] == '\t') {
            j -= 1;
        }
        j == 0 || b[j - 1] == ','
    })
}

/// Names the RFC 9110 list syntax in `input` that http-auth rejects and this parser accepts.
fn accepted_syntax(input: &str) -> Option<&'static str> {
    let bare = outside_quotes(input);
    let ows = |c: char| c == ' ' || c == '\t';
    if bare.trim_matches(ows) != bare {
        return Some("leading or trailing whitespace (a field value is trimmed, RFC 9110 §5.5)");
    }
    let compact: String = bare.chars().filter(|&c| !ows(c)).collect();
    if compact.starts_with(',')
        || compact.ends_with(',')
        || compact.contains(",,")
        || scheme_then_comma(&bare)
    {
        return Some("empty list elements (RFC 9110 §5.6.1 asks recipients to accept them)");
    }
    if bare.contains("  ") {
        return Some("1*SP after the scheme (http-auth wants exactly one space)");
    }
    None
}

/// Compares the two parsers on `input`.
pub fn compare(input: &str) -> Outcome {
    let (a, b) = (ours(input), theirs(input));
    match (&a, &b) {
        (Ok(x), Ok(y)) if x == y => Outcome::Same,
        (Err(_), Err(_)) => Outcome::Same,
        (Ok(x), Err(_)) if x.is_empty() => {
            Outcome::Intended("no challenge at all is an empty list (`#challenge` allows zero)")
        }
        (Ok(x), _) if x.iter().any(|c| c.1.is_some()) => {
            Outcome::Intended("token68 (http-auth does not accept it in challenges)")
        }
        (Ok(_), Err(_)) if !input.is_ascii() => {
            Outcome::Intended("obs-text in quoted-strings (http-auth rejects non-ASCII)")
        }
        (Ok(x), Err(_)) if theirs(&canonical(x)).as_ref() == Ok(x) => {
            match accepted_syntax(input) {
                Some(why) => Outcome::Intended(why),
                None => Outcome::Mismatch(format!("{input:?}: ours {a:?}, http-auth {b:?}")),
            }
        }
        (Err(e), Ok(_)) if e.kind == reauth::ErrorKind::DuplicateParam => Outcome::Intended(
            "a parameter name twice in one challenge is an error (RFC 9110 §11.2)",
        ),
        _ => Outcome::Mismatch(format!("{input:?}: ours {a:?}, http-auth {b:?}")),
    }
}
