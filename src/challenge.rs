//! The `WWW-Authenticate` parser: RFC 9110 §11.2 and §11.6.1.
//!
//! ```text
//! WWW-Authenticate = #challenge
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! [`ChallengeParser`] is a lazy iterator over a borrowed `&str`. Values without escapes are
//! borrowed from the input; only a quoted-string with a quoted-pair allocates. On the first syntax
//! error it yields a positioned [`ParseError`] and stops: callers that need a decision fall back
//! on the error ([`crate::policy`] does), they never act on a guess.
//!
//! # Strictness
//! This parser follows the grammar where lenient parsers guess. Each of these is an error:
//! an unterminated quoted-string; auth-params separated by spaces instead of commas; a bare value
//! that is not a token (`realm=a@b`); a token68 followed by auth-params; an auth-param name that
//! occurs twice in one challenge (RFC 9110 §11.2: "MUST NOT"); an auth-param after a scheme that
//! was not followed by a space (`Basic, realm="x"`), since then it belongs to no challenge.
//!
//! Accepted as RFC 9110 §5.6.1 asks of recipients: empty list elements (`Digest,, Basic`),
//! OWS around commas and BWS around `=`. Non-ASCII bytes (`obs-text`) are accepted inside
//! quoted-strings, as the grammar allows. Several header lines combine into one value joined
//! by `", "` ([`combine_header_lines`]).
//!
//! # Differences from the `http-auth` crate
//! `tests/differential.rs` and the fuzz target compare this parser with http-auth's
//! `ChallengeParser`. They agree on everything except these intended differences:
//!
//! - **token68** challenges (`Negotiate abcdef==`) are parsed; http-auth rejects them.
//! - **obs-text** (non-ASCII bytes) inside quoted-strings is accepted; http-auth rejects it.
//! - **Several spaces** after the scheme are accepted (`1*SP`); http-auth wants exactly one.
//! - **Empty list elements** are skipped everywhere, also right after a scheme
//!   (`Basic ,,realm="x"`), as RFC 9110 §5.6.1 asks of recipients; http-auth rejects some.
//! - **Leading and trailing whitespace** is ignored (field values are trimmed, §5.5).
//! - **An empty or all-comma value** is an empty list; http-auth reports an error.
//! - **A duplicate parameter name** in one challenge is an error here (§11.2 "MUST only
//!   occur once"); http-auth accepts it.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// One challenge of a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge<'a> {
    /// The auth-scheme as sent (compare with [`Challenge::is_scheme`], which ignores case).
    pub scheme: &'a str,
    /// The token68 form (`Negotiate abcdef`), when the challenge uses it instead of parameters.
    pub token68: Option<&'a str>,
    /// The auth-params in header order, names as sent, values unescaped.
    pub params: Vec<Param<'a>>,
}

/// One `name=value` auth-param.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    /// The parameter name as sent; names compare case-insensitively.
    pub name: &'a str,
    /// The value with quotes removed and quoted-pairs unescaped; borrowed unless it had escapes.
    pub value: Cow<'a, str>,
}

impl<'a> Challenge<'a> {
    /// Whether this challenge's scheme is `scheme`, ignoring ASCII case.
    pub fn is_scheme(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The value of the parameter `name` (case-insensitive), if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| &*p.value)
    }
}

/// The first challenge whose scheme is `scheme` (case-insensitive).
pub fn find_challenge<'c, 'a>(
    challenges: &'c [Challenge<'a>],
    scheme: &str,
) -> Option<&'c Challenge<'a>> {
    challenges.iter().find(|c| c.is_scheme(scheme))
}

/// Parses a whole header value into a `Vec` of challenges. An empty value gives an empty list.
pub fn parse_challenges(input: &str) -> Result<Vec<Challenge<'_>>, ParseError> {
    ChallengeParser::new(input).collect()
}

/// Joins several `WWW-Authenticate` header lines into the one value they stand for
/// (RFC 9110 §5.3), ready for [`parse_challenges`].
pub fn combine_header_lines<'a, I: IntoIterator<Item = &'a str>>(lines: I) -> String {
    let mut out = String::new();
    for line in lines {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(line);
    }
    out
}

/// What went wrong in a [`ParseError`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A challenge must start with an auth-scheme token.
    ExpectedScheme,
    /// After a challenge or an auth-param only `,` or the end may follow (this catches
    /// space-separated parameters and bare values that are not tokens, such as `realm=a@b`).
    ExpectedSeparator,
    /// An auth-param name must be followed by `=`.
    ExpectedEquals,
    /// An auth-param value must be a token or a quoted-string.
    ExpectedValue,
    /// A quoted-string has no closing `"`.
    UnterminatedQuotedString,
    /// A control character inside a quoted-string, or after a `\`.
    InvalidCharacter,
    /// An auth-param name occurs twice in one challenge.
    DuplicateParam,
    /// A challenge has both a token68 and auth-params.
    Token68WithParams,
    /// An auth-param that belongs to no challenge (`realm=x` first, or `Basic, realm=x`).
    ParamWithoutChallenge,
}

impl ErrorKind {
    /// A short English description, the same text `Display` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ExpectedScheme => "expected an auth-scheme",
            ErrorKind::ExpectedSeparator => "expected ',' or the end of the header",
            ErrorKind::ExpectedEquals => "expected '=' after the parameter name",
            ErrorKind::ExpectedValue => "expected a token or a quoted-string",
            ErrorKind::UnterminatedQuotedString => "unterminated quoted-string",
            ErrorKind::InvalidCharacter => "character not allowed here",
            ErrorKind::DuplicateParam => "parameter occurs twice in one challenge",
            ErrorKind::Token68WithParams => "auth-param after a token68",
            ErrorKind::ParamWithoutChallenge => "auth-param outside any challenge",
        }
    }
}

/// A syntax error and the byte offset in the input where it was found.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong.
    pub kind: ErrorKind,
    /// Byte offset into the parsed `&str` (UTF-8) where the problem starts.
    pub pos: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind.as_str(), self.pos)
    }
}

impl core::error::Error for ParseError {}

impl ParseError {
    /// The input with `(HERE-->)` marking where the error is, for logs and test output.
    pub fn marked(&self, input: &str) -> String {
        let at = (0..=self.pos.min(input.len()))
            .rev()
            .find(|&i| input.is_char_boundary(i))
            .unwrap_or(0);
        let mut s = String::with_capacity(input.len() + 10);
        s.push_str(&input[..at]);
        s.push_str("(HERE-->)");
        s.push_str(&input[at..]);
        s
    }
}

/// A lazy iterator over the challenges of one header value.
///
/// Yields each challenge once its end has been seen (the grammar's shared use of commas means
/// that is the next challenge's scheme). After an error it yields nothing more.
#[derive(Clone, Debug)]
pub struct ChallengeParser<'a> {
    input: &'a str,
    pos: usize,
    done: bool,
}

impl<'a> ChallengeParser<'a> {
    /// A parser over one (possibly combined) header value.
    pub fn new(input: &'a str) -> Self {
        ChallengeParser {
            input,
            pos: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for ChallengeParser<'a> {
    type Item = Result<Challenge<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.challenge().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

// Byte classes.
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}
const fn is_token68_char(b: u8) -> bool {
    matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}
/// qdtext without the `"` and `\` that the quoted-string loop handles itself.
const fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}
/// What may follow a `\` in a quoted-pair: HTAB, SP, VCHAR, obs-text.
const fn is_escapable(b: u8) -> bool {
    matches!(b, b'\t' | b' '..=0x7e | 0x80..=0xff)
}

impl<'a> ChallengeParser<'a> {
    /// `input[from..to]`; the parser only cuts at ASCII delimiters, which are char boundaries.
    /// (`get` keeps the slicing panic and its formatting code out of the wasm build.)
    fn slice(&self, from: usize, to: usize) -> &'a str {
        self.input.get(from..to).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn err(&self, kind: ErrorKind, pos: usize) -> ParseError {
        ParseError { kind, pos }
    }

    fn skip_ows(&mut self) {
        while let Some(b' ' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// Skips `*( OWS "," ) OWS`: separators and empty list elements.
    fn skip_separators(&mut self) {
        while let Some(b' ' | b'\t' | b',') = self.peek() {
            self.pos += 1;
        }
    }

    /// The run of bytes from `from` matching `class`, as an end offset.
    fn run_end(&self, from: usize, class: fn(u8) -> bool) -> usize {
        let mut i = from;
        while self.input.as_bytes().get(i).is_some_and(|&b| class(b)) {
            i += 1;
        }
        i
    }

    fn token(&mut self) -> Option<&'a str> {
        let end = self.run_end(self.pos, is_tchar);
        if end == self.pos {
            return None;
        }
        let t = self.slice(self.pos, end);
        self.pos = end;
        Some(t)
    }

    /// Whether `token BWS "="` starts at the current position (the next list element is an
    /// auth-param rather than a new challenge).
    fn param_ahead(&self) -> bool {
        let end = self.run_end(self.pos, is_tchar);
        if end == self.pos {
            return false;
        }
        let bytes = self.input.as_bytes();
        let after = self.run_end(end, |b| b == b' ' || b == b'\t');
        bytes.get(after) == Some(&b'=')
    }

    /// A token68 at the current position, if one stands there alone (followed by OWS and then
    /// `,` or the end). Otherwise the position is unchanged.
    fn token68(&mut self) -> Option<&'a str> {
        let run = self.run_end(self.pos, is_token68_char);
        if run == self.pos {
            return None;
        }
        let end = self.run_end(run, |b| b == b'=');
        let after = self.run_end(end, |b| b == b' ' || b == b'\t');
        match self.input.as_bytes().get(after) {
            None | Some(b',') => {
                let t = self.slice(self.pos, end);
                self.pos = end;
                Some(t)
            }
            _ => None,
        }
    }

    /// `auth-param = token BWS "=" BWS ( token / quoted-string )`, appended to `challenge`.
    fn param_into(&mut self, challenge: &mut Challenge<'a>) -> Result<(), ParseError> {
        let name_pos = self.pos;
        let name = self
            .token()
            .ok_or_else(|| self.err(ErrorKind::ExpectedSeparator, name_pos))?;
        self.skip_ows();
        if self.peek() != Some(b'=') {
            return Err(self.err(ErrorKind::ExpectedEquals, self.pos));
        }
        self.pos += 1;
        self.skip_ows();
        let value = match self.peek() {
            Some(b'"') => self.quoted_string()?,
            _ => Cow::Borrowed(
                self.token()
                    .ok_or_else(|| self.err(ErrorKind::ExpectedValue, self.pos))?,
            ),
        };
        if challenge
            .params
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
        {
            return Err(self.err(ErrorKind::DuplicateParam, name_pos));
        }
        challenge.params.push(Param { name, value });
        Ok(())
    }

    /// A quoted-string starting at the current `"`, unescaped.
    fn quoted_string(&mut self) -> Result<Cow<'a, str>, ParseError> {
        let open = self.pos;
        let bytes = self.input.as_bytes();
        let start = open + 1;
        let mut i = start;
        let mut escapes = 0usize;
        loop {
            match bytes.get(i) {
                None => return Err(self.err(ErrorKind::UnterminatedQuotedString, open)),
                Some(b'"') => break,
                Some(b'\\') => match bytes.get(i + 1) {
                    Some(&b) if is_escapable(b) => {
                        escapes += 1;
                        i += 2;
                    }
                    Some(_) => return Err(self.err(ErrorKind::InvalidCharacter, i + 1)),
                    None => return Err(self.err(ErrorKind::UnterminatedQuotedString, open)),
                },
                Some(&b) if is_qdtext(b) => i += 1,
                Some(_) => return Err(self.err(ErrorKind::InvalidCharacter, i)),
            }
        }
        self.pos = i + 1;
        let raw = self.slice(start, i);
        if escapes == 0 {
            return Ok(Cow::Borrowed(raw));
        }
        // Drop each quoted-pair's backslash and keep the character after it.
        let mut out = String::with_capacity(raw.len() - escapes);
        let mut after_backslash = false;
        for c in raw.chars() {
            if c == '\\' && !after_backslash {
                after_backslash = true;
            } else {
                after_backslash = false;
                out.push(c);
            }
        }
        Ok(Cow::Owned(out))
    }

    /// Parses the next challenge, or `None` at the end of the list.
    fn challenge(&mut self) -> Result<Option<Challenge<'a>>, ParseError> {
        self.skip_separators();
        if self.pos == self.input.len() {
            return Ok(None);
        }
        let scheme_pos = self.pos;
        let scheme = self
            .token()
            .ok_or_else(|| self.err(ErrorKind::ExpectedScheme, scheme_pos))?;
        let mut challenge = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        // `1*SP` (spaces only, no tabs) after the scheme opens its token68 or auth-param list.
        let before_space = self.pos;
        self.pos = self.run_end(self.pos, |b| b == b' ');
        let params_open = self.pos > before_space;
        let after_space = self.pos;
        self.skip_ows();
        // A tab may only come before a comma or the end (OWS around an empty list element).
        if self.pos > after_space && !matches!(self.peek(), None | Some(b',')) {
            return Err(self.err(ErrorKind::InvalidCharacter, after_space));
        }
        match self.peek() {
            None => return Ok(Some(challenge)),
            Some(b',') => {}
            Some(b'=') => return Err(self.err(ErrorKind::ParamWithoutChallenge, scheme_pos)),
            Some(_) if !params_open => {
                return Err(self.err(ErrorKind::InvalidCharacter, before_space))
            }
            Some(_) => match self.token68() {
                Some(t) => challenge.token68 = Some(t),
                None => self.param_into(&mut challenge)?,
            },
        }
        loop {
            self.skip_ows();
            match self.peek() {
                None => return Ok(Some(challenge)),
                Some(b',') => {}
                Some(_) => return Err(self.err(ErrorKind::ExpectedSeparator, self.pos)),
            }
            self.skip_separators();
            if self.pos == self.input.len() || !self.param_ahead() {
                // The end, or the next challenge's scheme: this challenge is complete.
                return Ok(Some(challenge));
            }
            if challenge.token68.is_some() {
                return Err(self.err(ErrorKind::Token68WithParams, self.pos));
            }
            if !params_open {
                return Err(self.err(ErrorKind::ParamWithoutChallenge, self.pos));
            }
            self.param_into(&mut challenge)?;
        }
    }
}
