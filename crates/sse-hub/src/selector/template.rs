//! RFC 6570 URI templates (levels 1 to 4): parsed by the RFC's grammar and
//! compiled to one anchored regular expression over the strings their
//! expansions can produce, as the reference hub matches them.

use regex::{Regex, RegexBuilder};

/// The compiled size above which a template is not compiled: the regular
/// expression crate's measure of its compiled program, about the memory the
/// template keeps.
pub(super) const SIZE_LIMIT: usize = 1 << 20;

/// The reference compiles a list of `n` variables none of which is exploded
/// to a group repeated `{0,n-1}` times, and Go's regexp refuses a count above
/// 1,000: the reference cannot match such a template, so it is no template
/// here either.
const MAX_LISTED_VARIABLES: usize = 1_001;

/// RFC 3986 reserved characters, `gen-delims` then `sub-delims`: what `+`
/// and `#` expansions leave unencoded besides the unreserved ones.
const RESERVED: &str = ":/?#[]@!$&'()*+,;=";

/// The unreserved punctuation of RFC 3986 (letters and digits go in the
/// class as ranges).
const UNRESERVED_PUNCTUATION: &str = "-._~";

/// A valid URI template, compiled.
#[derive(Clone, Debug)]
pub(super) struct Template {
    regex: Regex,
}

impl Template {
    /// The compiled template, or `None` when `template` is no valid
    /// template (see [`SIZE_LIMIT`] and [`MAX_LISTED_VARIABLES`] for the
    /// two bounds beyond the grammar).
    pub(super) fn compile(template: &str) -> Option<Template> {
        // The reference takes a selector without `{` for a plain string
        // without parsing it; a template without expression would only
        // match itself anyway.
        if !template.contains('{') {
            return None;
        }
        let pattern = pattern(&parse(template)?)?;
        let regex = RegexBuilder::new(&pattern)
            .size_limit(SIZE_LIMIT)
            .build()
            .ok()?;
        Some(Template { regex })
    }

    /// Whether `topic`, whole, is matched by the template's pattern.
    pub(super) fn matches(&self, topic: &str) -> bool {
        self.regex.is_match(topic)
    }

    /// The regular expression the template compiled to.
    #[cfg(test)]
    pub(super) fn pattern(&self) -> &str {
        self.regex.as_str()
    }
}

/// A piece of a parsed template.
#[derive(Debug, PartialEq, Eq)]
enum Part<'a> {
    /// Text copied as is (percent-escapes included) into every expansion.
    Literal(&'a str),
    Expression(Expression),
}

/// An expression `{...}`: what its matching depends on. Variable names and
/// prefix lengths are validated, then dropped: the reference's pattern does
/// not use them.
#[derive(Debug, PartialEq, Eq)]
struct Expression {
    operator: Operator,
    variables: usize,
    first_exploded: bool,
    any_exploded: bool,
}

/// The expression types of RFC 6570 section 3.2, by operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    /// `{var}`, simple string expansion.
    Simple,
    /// `{+var}`, reserved expansion.
    Reserved,
    /// `{#var}`, fragment expansion.
    Fragment,
    /// `{.var}`, label expansion with dot-prefix.
    Label,
    /// `{/var}`, path segment expansion.
    Path,
    /// `{;var}`, path-style parameter expansion.
    Parameter,
    /// `{?var}`, form-style query expansion.
    Query,
    /// `{&var}`, form-style query continuation.
    Continuation,
}

impl Operator {
    /// What an expansion starts with when any variable is defined.
    fn prefix(self) -> &'static str {
        match self {
            Operator::Simple | Operator::Reserved => "",
            Operator::Fragment => "#",
            Operator::Label => ".",
            Operator::Path => "/",
            Operator::Parameter => ";",
            Operator::Query => "?",
            Operator::Continuation => "&",
        }
    }

    /// What separates the values of defined variables.
    fn separator(self) -> char {
        match self {
            Operator::Simple | Operator::Reserved | Operator::Fragment => ',',
            Operator::Label => '.',
            Operator::Path => '/',
            Operator::Parameter => ';',
            Operator::Query | Operator::Continuation => '&',
        }
    }

    /// Whether values come as `name=value`.
    fn named(self) -> bool {
        matches!(
            self,
            Operator::Parameter | Operator::Query | Operator::Continuation
        )
    }

    /// Whether reserved characters are left unencoded in values.
    fn allows_reserved(self) -> bool {
        matches!(self, Operator::Reserved | Operator::Fragment)
    }

    /// The punctuation a value of this operator may contain unencoded
    /// besides letters and digits: the unreserved characters, the reserved
    /// ones for `+` and `#`; `,` (a list's or an associative array's
    /// separator) always, and `=` where `named` (explode and named
    /// operators write `name=value`).
    fn value_punctuation(self, named: bool) -> String {
        let mut chars = String::from(UNRESERVED_PUNCTUATION);
        if self.allows_reserved() {
            chars.push_str(RESERVED);
        } else {
            chars.push(',');
            if named {
                chars.push('=');
            }
        }
        chars
    }
}

/// Parses `template` by the grammar of RFC 6570 section 2, or `None` when
/// it does not follow it.
fn parse(template: &str) -> Option<Vec<Part<'_>>> {
    let mut parts = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(after_brace) = rest.strip_prefix('{') {
            // No `}` may appear inside an expression, so the first one ends
            // it; none at all is an unterminated expression.
            let end = after_brace.find('}')?;
            parts.push(Part::Expression(expression(&after_brace[..end])?));
            rest = &after_brace[end + 1..];
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            let literal = &rest[..end];
            if !is_literals(literal) {
                return None;
            }
            parts.push(Part::Literal(literal));
            rest = &rest[end..];
        }
    }
    Some(parts)
}

/// `expression = "{" [ operator ] variable-list "}"`, given what is between
/// the braces.
fn expression(body: &str) -> Option<Expression> {
    let mut chars = body.chars();
    let operator = match chars.next()? {
        '+' => Some(Operator::Reserved),
        '#' => Some(Operator::Fragment),
        '.' => Some(Operator::Label),
        '/' => Some(Operator::Path),
        ';' => Some(Operator::Parameter),
        '?' => Some(Operator::Query),
        '&' => Some(Operator::Continuation),
        // op-reserve: kept by the RFC for future extensions, an error now.
        '=' | ',' | '!' | '@' | '|' => return None,
        _ => None,
    };
    let list = match operator {
        Some(_) => chars.as_str(),
        None => body,
    };
    let mut parsed = Expression {
        operator: operator.unwrap_or(Operator::Simple),
        variables: 0,
        first_exploded: false,
        any_exploded: false,
    };
    for varspec in list.split(',') {
        let exploded = match varspec.strip_suffix('*') {
            Some(name) => {
                if !is_varname(name) {
                    return None;
                }
                true
            }
            None => {
                let (name, max_length) = match varspec.split_once(':') {
                    Some((name, max_length)) => (name, Some(max_length)),
                    None => (varspec, None),
                };
                if !is_varname(name) || max_length.is_some_and(|max| !is_max_length(max)) {
                    return None;
                }
                false
            }
        };
        if parsed.variables == 0 {
            parsed.first_exploded = exploded;
        }
        parsed.any_exploded |= exploded;
        parsed.variables += 1;
    }
    Some(parsed)
}

/// `varname = varchar *( ["."] varchar )`, `varchar = ALPHA / DIGIT / "_" /
/// pct-encoded`.
fn is_varname(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut i = 0;
    // A dot is allowed only between two varchars: after one, and not last.
    let mut after_varchar = false;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'.' if after_varchar => {
                after_varchar = false;
                i += 1;
            }
            b'%' if is_hex_pair(&bytes[i + 1..]) => {
                after_varchar = true;
                i += 3;
            }
            _ if byte.is_ascii_alphanumeric() || byte == b'_' => {
                after_varchar = true;
                i += 1;
            }
            _ => return false,
        }
    }
    after_varchar
}

/// `max-length = %x31-39 0*3DIGIT`: 1 to 9999 without leading zero.
fn is_max_length(max: &str) -> bool {
    (1..=4).contains(&max.len())
        && max.bytes().all(|byte| byte.is_ascii_digit())
        && !max.starts_with('0')
}

/// `literals` of RFC 6570 section 2.1, one or more: the characters allowed
/// outside expressions, and percent-escapes.
fn is_literals(text: &str) -> bool {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let allowed = if c == '%' {
            matches!(
                (chars.next(), chars.next()),
                (Some(high), Some(low)) if high.is_ascii_hexdigit() && low.is_ascii_hexdigit()
            )
        } else {
            is_literal_char(c)
        };
        if !allowed {
            return false;
        }
    }
    true
}

/// A character allowed as is in a literal: ASCII but for controls, space,
/// `"`, `'`, `%`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|` and `}`; and
/// RFC 3987's `ucschar` and `iprivate`.
fn is_literal_char(c: char) -> bool {
    let code = u32::from(c);
    match code {
        0x21 | 0x23..=0x24 | 0x26 | 0x28..=0x3B | 0x3D | 0x3F..=0x5B | 0x5D | 0x5F => true,
        0x61..=0x7A | 0x7E => true,
        0xA0..=0xD7FF | 0xE000..=0xF8FF | 0xF900..=0xFDCF | 0xFDF0..=0xFFEF => true,
        // Planes 1 to 13 and 15 to 16 but for each plane's last two code
        // points; plane 14 only from U+E1000.
        0x1_0000..=0xD_FFFF | 0xE_1000..=0x10_FFFF => code & 0xFFFF <= 0xFFFD,
        _ => false,
    }
}

/// Whether `bytes` starts with two hexadecimal digits.
fn is_hex_pair(bytes: &[u8]) -> bool {
    matches!(bytes, [high, low, ..] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit())
}

/// The anchored pattern of a parsed template, or `None` past
/// [`MAX_LISTED_VARIABLES`].
fn pattern(parts: &[Part<'_>]) -> Option<String> {
    let mut pattern = String::from("^");
    for part in parts {
        match part {
            Part::Literal(literal) => pattern.push_str(&regex::escape(literal)),
            Part::Expression(expression) => expression.push_pattern(&mut pattern)?,
        }
    }
    pattern.push('$');
    Some(pattern)
}

impl Expression {
    /// Appends the expression's pattern: optional as a whole (an expansion
    /// of undefined variables is empty), the operator's prefix, then the
    /// values with the operator's separator between them.
    fn push_pattern(&self, pattern: &mut String) -> Option<()> {
        if !self.any_exploded && self.variables > MAX_LISTED_VARIABLES {
            return None;
        }
        let operator = self.operator;
        let first_named = operator.named() || self.first_exploded;
        // An exploded variable writes `name=value` pairs whatever the
        // operator, so the values after the first separator may hold `=`.
        let rest_named = operator.named() || self.any_exploded;
        let separator = operator.separator();
        let first = operator.value_punctuation(first_named);

        pattern.push_str("(?:");
        pattern.push_str(&regex::escape(operator.prefix()));
        push_value(pattern, &first);
        if self.variables > 1 || self.first_exploded {
            let rest = operator.value_punctuation(rest_named);
            if first.contains(separator) {
                // The first value's run already takes separators, so any
                // number of separated values is one value; what the
                // reference's repetition adds is only `=` after the first
                // separator, where the later values allow it and the first
                // does not.
                if rest != first {
                    push_separated(pattern, separator, &rest);
                    pattern.push('?');
                }
            } else {
                push_separated(pattern, separator, &rest);
                if self.any_exploded {
                    pattern.push('*');
                } else {
                    pattern.push_str(&format!("{{0,{}}}", self.variables - 1));
                }
            }
        }
        pattern.push_str(")?");
        Some(())
    }
}

/// Appends a value: any run of letters, digits, `punctuation` and
/// percent-escapes, the empty one included.
fn push_value(pattern: &mut String, punctuation: &str) {
    pattern.push_str("(?:[0-9A-Za-z");
    // Escaped, `-`, `&`, `~` and `[`/`]` are literal inside a class.
    pattern.push_str(&regex::escape(punctuation));
    pattern.push_str("]|%[0-9A-Fa-f]{2})*");
}

/// Appends a group of one separator and one value.
fn push_separated(pattern: &mut String, separator: char, punctuation: &str) {
    pattern.push_str("(?:");
    pattern.push_str(&regex::escape(separator.encode_utf8(&mut [0; 4])));
    push_value(pattern, punctuation);
    pattern.push(')');
}
