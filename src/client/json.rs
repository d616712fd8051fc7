//! Reads one string member of a JSON object without a JSON library: the SDK only needs `user_id` from a token's
//! payload, and a general parser (serde_json, with its float formatting) would cost more bytes than the rest of
//! the client core.

use alloc::string::String;

/// The string value of the top-level member `key` of the JSON object `json`; `None` when `json` is not an object,
/// the member is missing, or its value is not a string.
pub fn top_level_string(json: &str, key: &str) -> Option<String> {
    let mut reader = Reader { bytes: json.as_bytes(), at: 0 };
    reader.expect(b'{')?;
    if reader.peek()? == b'}' {
        return None;
    }
    loop {
        let name = reader.string()?;
        reader.expect(b':')?;
        if name == key && reader.peek()? == b'"' {
            return reader.string();
        }
        reader.skip_value()?;
        match reader.next_significant()? {
            b',' => continue,
            _ => return None,
        }
    }
}

/// A cursor over JSON text.
struct Reader<'a> {
    /// The text.
    bytes: &'a [u8],
    /// The next byte to read.
    at: usize,
}

impl Reader<'_> {
    /// The next byte that is not white space, without taking it.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.bytes.get(self.at) {
            if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    /// Takes the next byte that is not white space.
    fn next_significant(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.next_significant()? == wanted).then_some(())
    }

    /// Reads a string literal, unescaping it.
    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.at;
            while !matches!(self.bytes.get(self.at)?, b'"' | b'\\') {
                self.at += 1;
            }
            out.push_str(core::str::from_utf8(&self.bytes[start..self.at]).ok()?);
            let byte = self.bytes[self.at];
            self.at += 1;
            if byte == b'"' {
                return Some(out);
            }
            let escaped = *self.bytes.get(self.at)?;
            self.at += 1;
            out.push(match escaped {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => self.unicode_escape()?,
                _ => return None,
            });
        }
    }

    /// The character of a `\uXXXX` escape (after the `u`), joining surrogate pairs.
    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            return char::from_u32(high);
        }
        if self.bytes.get(self.at..self.at + 2)? != b"\\u" {
            return None;
        }
        self.at += 2;
        let low = self.hex4()?;
        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low.checked_sub(0xDC00)?))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + 4)?;
        self.at += 4;
        digits.iter().try_fold(0, |acc, &d| Some(acc * 16 + (d as char).to_digit(16)?))
    }

    /// Skips one value of any kind.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => depth -= 1,
                        _ => {}
                    }
                    self.at += 1;
                    if depth == 0 {
                        return Some(());
                    }
                }
            }
            _ => {
                while !matches!(self.bytes.get(self.at), None | Some(b',' | b'}' | b']')) {
                    self.at += 1;
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_member_among_others() {
        let json = r#"{ "exp": 1.5e3, "nested": {"user_id": "no", "a": [1, "}", {"b": null}]},
                        "flag": true, "user_id" : "alice" }"#;
        assert_eq!(top_level_string(json, "user_id").as_deref(), Some("alice"));
    }

    #[test]
    fn unescapes_like_a_json_parser() {
        for value in ["a\"b", "back\\slash", "tab\tnew\nline", "é", "😀", "zz~~~", "\u{1}"] {
            let json = serde_json::json!({ "user_id": value }).to_string();
            assert_eq!(top_level_string(&json, "user_id").as_deref(), Some(value), "{json}");
        }
        assert_eq!(
            top_level_string(r#"{"user_id":"\ud83d\ude00 \u00e9"}"#, "user_id").as_deref(),
            Some("😀 é")
        );
    }

    #[test]
    fn missing_or_not_a_string_is_none() {
        for json in [
            r#"{}"#,
            r#"{"user_id": 42}"#,
            r#"{"other": "x"}"#,
            r#"["user_id"]"#,
            "",
            r#"{"user_id""#,
        ] {
            assert_eq!(top_level_string(json, "user_id"), None, "{json}");
        }
    }
}
