//! Reading a parameter of a URL's query, as a form decodes it.

/// The first value of query parameter `name`, decoded as
/// `application/x-www-form-urlencoded` (`+` is a space, `%XX` a byte;
/// invalid UTF-8 becomes U+FFFD).
pub(crate) fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key) == name).then(|| decode(value))
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some((hi, lo))) => {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
            (b'+', None) => out.push(b' '),
            (b, None) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::param;

    #[test]
    fn params_are_form_decoded() {
        assert_eq!(
            param("a=1&lastEventId=4%202+x", "lastEventId").as_deref(),
            Some("4 2 x")
        );
        assert_eq!(param("lastEventId", "lastEventId").as_deref(), Some(""));
        assert_eq!(param("x=%zz%4", "x").as_deref(), Some("%zz%4"));
        assert_eq!(param("a=1", "b"), None);
        assert_eq!(param("l%61st=7&last=8", "last").as_deref(), Some("7"));
    }
}
