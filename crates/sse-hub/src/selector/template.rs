//! RFC 6570 URI templates (levels 1 to 4): parsed by the RFC's grammar and
//! compiled to one anchored regular expression over the strings their
//! expansions can produce, as the reference hub matches them.

use regex_automata::meta::{self, Regex};

/// The compiled size above which a template is not compiled (the regular
/// expression crate's measure of its program), so that a subscriber cannot
/// make the hub keep or run a huge automaton: realistic templates take a few
/// KiB, and a list of about 125 path or query variables (repeated as a
/// counted group) reaches the bound.
const SIZE_LIMIT: usize = 64 << 10;

/// The most bytes the lazy DFA's cache of a template grows to, for each
/// thread matching with it at once: after a few matches, the templates
/// subscribers use hold 4 to 12 KiB of matching state in all, one at the
/// compiled-size bound 32 KiB; one whose states do not fit is matched by a
/// slower engine rather than growing (the regular expression crate's
/// default is 2 MiB).
const CACHE_LIMIT: usize = 32 << 10;

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
    /// What [`Template::heap_bytes`] says, counted once when compiled.
    heap_bytes: usize,
    #[cfg(test)]
    pattern: String,
}

impl Template {
    /// The compiled template, or `None` when `template` is no valid
    /// template or its program would exceed [`SIZE_LIMIT`].
    pub(super) fn compile(template: &str) -> Option<Template> {
        // The reference takes a selector without `{` for a plain string
        // without parsing it; a template without expression would only
        // match itself anyway.
        if !template.contains('{') {
            return None;
        }
        let pattern = pattern(&parse(template)?);
        let config = meta::Config::new()
            .nfa_size_limit(Some(SIZE_LIMIT))
            .hybrid_cache_capacity(CACHE_LIMIT);
        let regex = Regex::builder().configure(config).build(&pattern).ok()?;
        // A thread's matching state starts at a new cache's size (the
        // engines the lazy DFA falls back to size theirs by the program)
        // and grows by at most the lazy DFA's bound.
        let heap_bytes = regex.memory_usage() + regex.create_cache().memory_usage() + CACHE_LIMIT;
        Some(Template {
            regex,
            heap_bytes,
            #[cfg(test)]
            pattern,
        })
    }

    /// The heap bytes the template may hold: its compiled program, and the
    /// matching state of one thread at its bound (about 38 KiB for
    /// `https://example.com/books/{id}`, 123 KiB at the compiled-size
    /// bound).
    pub(super) fn heap_bytes(&self) -> usize {
        self.heap_bytes
    }

    /// Whether `topic`, whole, is matched by the template's pattern.
    pub(super) fn matches(&self, topic: &str) -> bool {
        self.regex.is_match(topic)
    }

    /// The regular expression the template compiled to.
    #[cfg(test)]
    pub(super) fn pattern(&self) -> &str {
        &self.pattern
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

/// The anchored pattern of a parsed template.
fn pattern(parts: &[Part<'_>]) -> String {
    let mut pattern = String::from("^");
    for part in parts {
        match part {
            Part::Literal(literal) => pattern.push_str(&regex_syntax::escape(literal)),
            Part::Expression(expression) => expression.push_pattern(&mut pattern),
        }
    }
    pattern.push('$');
    pattern
}

impl Expression {
    /// Appends the expression's pattern: optional as a whole (an expansion
    /// of undefined variables is empty), the operator's prefix, then the
    /// values with the operator's separator between them.
    fn push_pattern(&self, pattern: &mut String) {
        let operator = self.operator;
        let first_named = operator.named() || self.first_exploded;
        // An exploded variable writes `name=value` pairs whatever the
        // operator, so the values after the first separator may hold `=`.
        let rest_named = operator.named() || self.any_exploded;
        let separator = operator.separator();
        let first = operator.value_punctuation(first_named);

        pattern.push_str("(?:");
        pattern.push_str(&regex_syntax::escape(operator.prefix()));
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
    }
}

/// Appends a value: any run of letters, digits, `punctuation` and
/// percent-escapes, the empty one included.
fn push_value(pattern: &mut String, punctuation: &str) {
    pattern.push_str("(?:[0-9A-Za-z");
    // Escaped, `-`, `&`, `~` and `[`/`]` are literal inside a class.
    pattern.push_str(&regex_syntax::escape(punctuation));
    pattern.push_str("]|%[0-9A-Fa-f]{2})*");
}

/// Appends a group of one separator and one value.
fn push_separated(pattern: &mut String, separator: char, punctuation: &str) {
    pattern.push_str("(?:");
    pattern.push_str(&regex_syntax::escape(separator.encode_utf8(&mut [0; 4])));
    push_value(pattern, punctuation);
    pattern.push(')');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles `template`, which must be valid.
    #[track_caller]
    fn compile(template: &str) -> Template {
        match Template::compile(template) {
            Some(compiled) => compiled,
            None => panic!("{template:?} is a valid template"),
        }
    }

    /// Asserts which topics `template` matches and which it does not.
    #[track_caller]
    fn check(template: &str, matching: &[&str], not_matching: &[&str]) {
        let compiled = compile(template);
        for topic in matching {
            assert!(
                compiled.matches(topic),
                "{template:?} must match {topic:?} (pattern {})",
                compiled.pattern()
            );
        }
        for topic in not_matching {
            assert!(
                !compiled.matches(topic),
                "{template:?} must not match {topic:?} (pattern {})",
                compiled.pattern()
            );
        }
    }

    #[test]
    fn c3_patterns_per_operator() {
        let unreserved = r"0-9A-Za-z\-\._\~";
        let value =
            |punctuation: &str| format!(r"(?:[{unreserved}{punctuation}]|%[0-9A-Fa-f]{{2}})*");
        let plain = value(",");
        let named = value(",=");
        let reserved = value(r":/\?\#\[\]@!\$\&'\(\)\*\+,;=");
        let cases = [
            ("{var}", format!("^(?:{plain})?$")),
            ("{+var}", format!("^(?:{reserved})?$")),
            ("{#var}", format!(r"^(?:\#{reserved})?$")),
            ("{.var}", format!(r"^(?:\.{plain})?$")),
            ("{/var}", format!("^(?:/{plain})?$")),
            ("{;var}", format!("^(?:;{named})?$")),
            ("{?var}", format!(r"^(?:\?{named})?$")),
            ("{&var}", format!(r"^(?:\&{named})?$")),
            ("{var*}", format!("^(?:{named})?$")),
            ("{var:3}", format!("^(?:{plain})?$")),
            ("{x,y}", format!("^(?:{plain})?$")),
            ("{x,y*}", format!("^(?:{plain}(?:,{named})?)?$")),
            ("{.x,y*}", format!(r"^(?:\.{plain}(?:\.{named})?)?$")),
            ("{/x,y}", format!("^(?:/{plain}(?:/{plain}){{0,1}})?$")),
            ("{/x,y,z}", format!("^(?:/{plain}(?:/{plain}){{0,2}})?$")),
            ("{/x*}", format!("^(?:/{named}(?:/{named})*)?$")),
            ("{;x,y}", format!("^(?:;{named}(?:;{named}){{0,1}})?$")),
            ("{?x,y}", format!(r"^(?:\?{named}(?:\&{named}){{0,1}})?$")),
            ("{&x*}", format!(r"^(?:\&{named}(?:\&{named})*)?$")),
            (
                "https://example.com/books/{id}",
                format!(r"^https://example\.com/books/(?:{plain})?$"),
            ),
        ];
        for (template, pattern) in cases {
            assert_eq!(compile(template).pattern(), pattern, "{template}");
        }
    }

    #[test]
    fn c3_iri_template_is_anchored() {
        check(
            "https://example.com/books/{id}",
            &[
                "https://example.com/books/1",
                "https://example.com/books/abc-DEF_1.2~3",
                // Every expression is optional.
                "https://example.com/books/",
                "https://example.com/books/1,2",
                "https://example.com/books/caf%C3%A9",
            ],
            &[
                "https://example.com/books/1/reviews",
                "https://example.com/books",
                "https://example.com/books/1?page=2",
                "https://example.com/books/1#top",
                "prefix https://example.com/books/1",
                "https://example.com/books/1 ",
                "https://example.com/books/1\n",
                // The literal's `.` is a dot, not any character.
                "https://exampleXcom/books/1",
                "https://example.org/books/1",
                "HTTPS://EXAMPLE.COM/books/1",
                // Values are ASCII: other characters come percent-encoded.
                "https://example.com/books/café",
                "https://example.com/books/a b",
            ],
        );
    }

    #[test]
    fn c3_simple_expression_takes_unreserved_and_comma() {
        check(
            "{var}",
            &[
                "", "abc", "AZaz09", "-._~", "a,b,c", "%20", "%2f%2F", "x%C3%A9y",
            ],
            &[
                "a/b", "a?b", "a#b", "a=b", "a;b", "a&b", "a+b", "a:b", "a@b", "a!b", "a*b", "a'b",
                "a b", "é", "%", "%2", "%G0", "a%2", "%%41",
            ],
        );
    }

    #[test]
    fn c3_reserved_expression_takes_reserved_characters() {
        check(
            "https://example.com/{+path}",
            &[
                "https://example.com/",
                "https://example.com/a/b/c",
                "https://example.com/a?b=c&d=e#f",
                "https://example.com/:@!$&'()*+,;=[]",
                "https://example.com/%7B%7D",
            ],
            &[
                "https://example.com/a b",
                "https://example.com/a{b}",
                "https://example.com/a|b",
                "https://example.com/a\"b",
                "https://example.com/a<b>",
                "https://example.com/a%2",
                "https://example.com/é",
                "https://example.org/a",
            ],
        );
    }

    #[test]
    fn c3_fragment_expression_adds_hash() {
        check(
            "/page{#section}",
            &[
                "/page",
                "/page#",
                "/page#intro",
                "/page#a/b?c",
                "/page#a,b",
                "/page#a#b",
            ],
            &[
                "/pageintro",
                "/page/intro",
                "/page#a b",
                "/page#é",
                "/page#a}",
            ],
        );
    }

    #[test]
    fn c3_label_expression_adds_dots() {
        check(
            "/file{.ext}",
            &["/file", "/file.", "/file.txt", "/file.tar.gz", "/file.a,b"],
            &["/filetxt", "/file.a/b", "/file.a=b", "/file/txt"],
        );
        check("/file{.x,y}", &["/file.a.b", "/file.a.b.c"], &["/file.a/b"]);
    }

    #[test]
    fn c3_path_expression_adds_slash_per_variable() {
        check(
            "/api{/id}",
            &["/api", "/api/", "/api/7", "/api/a,b", "/api/%2F"],
            &["/api7", "/api/7/8", "/api/a=b", "/api//"],
        );
        check(
            "/api{/a,b}",
            &["/api", "/api/7", "/api/7/8", "/api//", "/api/7/"],
            &["/api/7/8/9", "/api/7/8/", "/api7/8"],
        );
        check("/api{/a,b,c}", &["/api/1/2/3"], &["/api/1/2/3/4"]);
    }

    #[test]
    fn c3_parameter_expression_is_named() {
        check(
            "/map{;x}",
            &[
                "/map",
                "/map;",
                "/map;x",
                "/map;x=1",
                "/map;x=1,2",
                "/map;x=",
            ],
            &["/map;x=1;y=2", "/mapx=1", "/map;x=1/2", "/map;x=a b"],
        );
        check(
            "/map{;x,y}",
            &["/map;x=1;y=2", "/map;x=1"],
            &["/map;x=1;y=2;z=3", "/map;x=1&y=2"],
        );
    }

    #[test]
    fn c3_query_expression_is_named() {
        check(
            "/search{?q}",
            &[
                "/search",
                "/search?",
                "/search?q=rust",
                "/search?q=a,b",
                "/search?q=%20",
            ],
            &[
                "/search?q=a&page=2",
                "/search?q=a/b",
                "/search?q=a b",
                "/search?q=a?b",
                "/searchq=rust",
                "/search&q=rust",
            ],
        );
        check(
            "/search{?q,page}",
            &["/search?q=a&page=2", "/search?q=a", "/search?page=2"],
            &["/search?q=a&page=2&lang=en", "/search?q=a;page=2"],
        );
    }

    #[test]
    fn c3_continuation_expression_is_named() {
        check(
            "/search?fixed=1{&x}",
            &["/search?fixed=1", "/search?fixed=1&", "/search?fixed=1&x=2"],
            &[
                "/search?fixed=1&x=2&y=3",
                "/search?fixed=1?x=2",
                "/search?fixed=2&x=1",
            ],
        );
        check(
            "/search?fixed=1{&x,y}",
            &["/search?fixed=1&x=2&y=3"],
            &["/search?fixed=1&x=2&y=3&z=4"],
        );
    }

    #[test]
    fn c3_explode_repeats_with_the_separator_and_allows_names() {
        check("{list*}", &["a,b,c", "a=1,b=2", ""], &["a/b", "a;b"]);
        check(
            "/api{/segments*}",
            &["/api", "/api/a", "/api/a/b/c/d", "/api/k=v/x"],
            &["/apia", "/api/a b"],
        );
        check(
            "/map{;keys*}",
            &["/map;a=1;b=2;c=3", "/map;a"],
            &["/map;a=1&b=2"],
        );
        check(
            "/search{?params*}",
            &["/search?a=1&b=2&c=3", "/search?a=1"],
            &["/search?a=1;b=2", "/search&a=1"],
        );
        check("/x{&more*}", &["/x&a=1&b=2&c=3"], &["/x&a=1;b=2"]);
        check(
            "/file{.parts*}",
            &["/file.a.b.c", "/file.a=1.b"],
            &["/file.a/b"],
        );
        check("{#frag*}", &["#a=1,b=2", "#a/b"], &["a"]);
    }

    #[test]
    fn c3_explode_after_the_first_variable_allows_names_after_a_separator() {
        // The first value is not exploded, so it takes no `=`; the exploded
        // one after the separator does.
        check(
            "{x,y*}",
            &["a", "a,b", "a,b=c", "a,b=c,d=e"],
            &["=a", "a=b"],
        );
        check("{.x,y*}", &["", ".a", ".a.b=c"], &[".a=b"]);
        check("{/x,y*}", &["/a/b=c/d=e", "/a/b/c/d"], &["/a=b"]);
    }

    #[test]
    fn c3_prefix_modifier_does_not_limit_length() {
        check(
            "/dictionary/{term:1}/{term}",
            &["/dictionary/c/cat", "/dictionary/cat/cat", "/dictionary//"],
            &["/dictionary/c/cat/s"],
        );
        check("{var:3}", &["abcdefgh", ""], &["a/b"]);
        assert_eq!(compile("{var:9999}").pattern(), compile("{var}").pattern());
    }

    #[test]
    fn c3_several_variables_in_one_expression() {
        check("{x,y}", &["1,2", "1", "", "1,2,3"], &["1/2", "1=2"]);
        check("{+x,y}", &["/a,/b", "a/b"], &["a b"]);
        check("{#x,y}", &["#a,b", "#a/b,c"], &["a,b"]);
        check(
            "https://example.com/{a}/{b}",
            &["https://example.com/1/2", "https://example.com//"],
            &["https://example.com/1/2/3", "https://example.com/1"],
        );
    }

    #[test]
    fn c3_percent_escapes() {
        // In values: any two hexadecimal digits, either case.
        check(
            "/t/{id}",
            &["/t/%2F", "/t/%2f", "/t/a%20b%C3%A9"],
            &["/t/%", "/t/%2", "/t/%zz", "/t/%2G"],
        );
        // In literals: copied as is, so they match themselves only.
        check(
            "/a%20b/{x}",
            &["/a%20b/1"],
            &["/a b/1", "/a%2520b/1", "/a%20B/1"],
        );
    }

    #[test]
    fn c3_non_ascii_literals_match_themselves() {
        check(
            "https://example.com/café/{id}",
            &["https://example.com/café/1"],
            &[
                "https://example.com/cafe/1",
                "https://example.com/caf%C3%A9/1",
            ],
        );
    }

    #[test]
    fn c2_invalid_templates_do_not_compile() {
        for template in [
            "/books/{id",
            "/books/{",
            "/books/{}",
            "/books/{+}",
            "/books/}{id}",
            "/books/{id}}",
            "{{id}}",
            "/books/{=id}",
            "/books/{,id}",
            "/books/{!id}",
            "/books/{@id}",
            "/books/{|id}",
            "/books/{id,}",
            "/books/{id,,x}",
            "/books/{id:0}",
            "/books/{id:01}",
            "/books/{id:10000}",
            "/books/{id:}",
            "/books/{id:3a}",
            "/books/{id*:3}",
            "/books/{id:3*}",
            "/books/{id**}",
            "/books/{.}",
            "/books/{..id}",
            "/books/{id.}",
            "/books/{i..d}",
            "/books/{i d}",
            "/books/{i-d}",
            "/books/{i%2}",
            "/books/{i%zz}",
            "/books/{é}",
            "/books/{{id}",
            "/books with space/{id}",
            "/books/\"{id}\"",
            "/books/'{id}'",
            "/books/<{id}>",
            "/books\\{id}",
            "/books/^{id}",
            "/books/`{id}`",
            "/books/|{id}",
            "/books/%{id}",
            "/books/%2{id}",
            "/books/%zz{id}",
            "/books/\u{7f}{id}",
            "/books/\u{9f}{id}",
            "/books/\u{fdd0}{id}",
            "/books/\u{ffff}{id}",
            "/books/\u{e0000}{id}",
            "/books/\u{1fffe}{id}",
        ] {
            assert!(
                Template::compile(template).is_none(),
                "{template:?} is not a template"
            );
        }
    }

    #[test]
    fn c2_valid_varnames_and_literals_compile() {
        for template in [
            "{x.y}",
            "{x.y.z}",
            "{x%41}",
            "{%41x}",
            "{_}",
            "{9}",
            "{Var_9}",
            "{x:1}",
            "{x:9999}",
            "{x:3,y*,z}",
            "/\u{a0}\u{d7ff}\u{e000}\u{f8ff}\u{f900}\u{fdcf}\u{fdf0}\u{ffef}/{x}",
            "/\u{10000}\u{1fffd}\u{e1000}\u{efffd}\u{f0000}\u{10fffd}/{x}",
            "!#$&()*+,-./0:;=?@AZ[]_az~{x}",
        ] {
            assert!(
                Template::compile(template).is_some(),
                "{template:?} is a template"
            );
        }
        check("/\u{10fffd}/{x}", &["/\u{10fffd}/1"], &["/\u{10fffc}/1"]);
    }

    #[test]
    fn c3_listed_variables_repeat_up_to_their_count() {
        let list = |operator: &str, n: usize, last: &str| {
            let names: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
            format!("{{{operator}{}{last}}}", names.join(","))
        };
        let hundred = compile(&list("/", 100, ""));
        assert!(hundred.matches(&"/s".repeat(100)));
        assert!(!hundred.matches(&"/s".repeat(101)));
        let query = compile(&list("?", 100, ""));
        assert!(query.matches(&format!("?{}", ["k=v"; 100].join("&"))));
        assert!(!query.matches(&format!("?{}", ["k=v"; 101].join("&"))));
        // An exploded variable makes the repetition unbounded: no count.
        let exploded = compile(&list("/", 2_000, "*"));
        assert!(exploded.matches(&"/s".repeat(5_000)));
        // Where values may hold the separator, no count either.
        let simple = compile(&list("", 2_000, ""));
        assert!(simple.matches(&["s"; 5_000].join(",")));
    }

    #[test]
    fn c3_template_past_the_size_bound_is_no_template() {
        let list = |n: usize| {
            let names: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
            format!("/x{{/{}}}", names.join(","))
        };
        assert!(Template::compile(&list(100)).is_some());
        assert!(Template::compile(&list(1_000)).is_none());
        assert!(Template::compile(&"{a}".repeat(100)).is_some());
        assert!(Template::compile(&"{a}".repeat(1_000)).is_none());
    }

    /// The pattern the reference writes, without the shortening of
    /// `push_pattern`: a group per literal and per expression, the separated
    /// values always as a counted (or, exploded, unbounded) repetition.
    fn reference_shape(template: &str) -> (String, Regex) {
        const UNRESERVED: &str = "-._~";
        const RESERVED_CHARS: &str = ":/?#[]@!$&'()*+,;=";
        let class = |reserved: bool, named: bool| {
            let mut set = String::from(UNRESERVED);
            if reserved {
                set.push_str(RESERVED_CHARS);
            } else {
                set.push(',');
                if named {
                    set.push('=');
                }
            }
            format!(
                "(?:(?:[a-zA-Z0-9{}]|%[[:xdigit:]][[:xdigit:]])*)",
                regex_syntax::escape(&set)
            )
        };
        let mut pattern = String::from("^");
        for part in parse(template).expect("a valid template") {
            match part {
                Part::Literal(literal) => {
                    pattern.push_str(&format!("({})", regex_syntax::escape(literal)));
                }
                Part::Expression(expression) => {
                    let (prefix, separator, named, reserved) = match expression.operator {
                        Operator::Simple => ("", ",", false, false),
                        Operator::Reserved => ("", ",", false, true),
                        Operator::Fragment => ("#", ",", false, true),
                        Operator::Label => (".", ".", false, false),
                        Operator::Path => ("/", "/", false, false),
                        Operator::Parameter => (";", ";", true, false),
                        Operator::Query => ("?", "&", true, false),
                        Operator::Continuation => ("&", "&", true, false),
                    };
                    if !prefix.is_empty() {
                        pattern.push_str(&format!("(?:{}", regex_syntax::escape(prefix)));
                    }
                    pattern.push('(');
                    pattern.push_str(&class(reserved, named || expression.first_exploded));
                    if expression.variables > 1 || expression.first_exploded {
                        pattern.push_str(&format!(
                            "(?:{}{})",
                            regex_syntax::escape(separator),
                            class(reserved, named || expression.any_exploded)
                        ));
                        if expression.any_exploded {
                            pattern.push('*');
                        } else {
                            pattern.push_str(&format!("{{0,{}}}", expression.variables - 1));
                        }
                    }
                    pattern.push(')');
                    if !prefix.is_empty() {
                        pattern.push(')');
                    }
                    pattern.push('?');
                }
            }
        }
        pattern.push('$');
        let regex = Regex::new(&pattern).expect("the reference shape compiles");
        (pattern, regex)
    }

    #[test]
    fn c3_patterns_agree_with_the_reference_shape() {
        let templates = [
            "{v}", "{+v}", "{#v}", "{.v}", "{/v}", "{;v}", "{?v}", "{&v}", "{v*}", "{+v*}",
            "{#v*}", "{.v*}", "{/v*}", "{;v*}", "{?v*}", "{&v*}", "{x,y}", "{+x,y}", "{#x,y}",
            "{.x,y}", "{/x,y}", "{;x,y}", "{?x,y}", "{&x,y}", "{x,y*}", "{+x,y*}", "{.x,y*}",
            "{/x,y*}", "{?x*,y}", "{x,y,z}", "{/x,y,z}", "{v:3}", "a{v}b", "{/v}{.w}", "{?x}{&y}",
        ];
        let tokens = [
            "a", "Z9", "b", "-", ".", "_", "~", ",", "=", "/", ";", "?", "&", "#", "+", ":", "%2F",
            "%", "é", " ",
        ];
        let mut topics = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..3 {
            last = last
                .iter()
                .flat_map(|topic| tokens.iter().map(move |token| format!("{topic}{token}")))
                .collect();
            topics.extend(last.iter().cloned());
        }
        for template in templates {
            let ours = compile(template);
            let (pattern, reference) = reference_shape(template);
            for topic in &topics {
                assert_eq!(
                    ours.matches(topic),
                    reference.is_match(topic),
                    "{template:?} on {topic:?}: ours {}, reference {}",
                    ours.pattern(),
                    pattern
                );
            }
        }
    }

    #[test]
    fn c3_what_a_template_may_hold_is_counted_with_its_matching_state() {
        let kib = |template: &str| compile(template).heap_bytes() / 1024;
        assert_eq!(kib("https://example.com/books/{id}"), 38);
        let heavy = kib(&format!("/0/{}", "{a}".repeat(120)));
        assert!((120..=128).contains(&heavy), "{heavy} KiB");
    }

    #[test]
    fn parse_splits_literals_and_expressions() {
        let expression = |operator, variables, first_exploded, any_exploded| {
            Part::Expression(Expression {
                operator,
                variables,
                first_exploded,
                any_exploded,
            })
        };
        assert_eq!(
            parse("/a{/b,c*}.d{?e:2}").unwrap(),
            [
                Part::Literal("/a"),
                expression(Operator::Path, 2, false, true),
                Part::Literal(".d"),
                expression(Operator::Query, 1, false, false),
            ]
        );
        assert_eq!(
            parse("{x*}").unwrap(),
            [expression(Operator::Simple, 1, true, true)]
        );
        assert_eq!(parse("").unwrap(), []);
    }
}
