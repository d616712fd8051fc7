//! Searches for one ASCII byte in text, and splits at it. `str::find`, `split` and `contains` with a `char`
//! bring a char searcher and `memchr` into the wasm (~0.8 KB raw) for what a byte loop does; every separator the
//! SDK looks for (`:` in a cid, `?` in a URL, `$` in a path template, `\x01` between ids) is ASCII, so a byte
//! position is always a char boundary.

/// Where the first `byte` is in `text`.
pub fn position(text: &str, byte: u8) -> Option<usize> {
    text.bytes().position(|b| b == byte)
}

/// `text` before and after its first `byte`.
pub fn split_once(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = position(text, byte)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The pieces of `text` between its `byte`s, as `str::split` gives them.
pub fn pieces(text: &str, byte: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let current = rest?;
        match split_once(current, byte) {
            Some((piece, after)) => {
                rest = Some(after);
                Some(piece)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_as_str_does() {
        for text in ["", ":", "a:b", "messaging:general:x", "\u{1}a\u{1}bé\u{1}", "é:ü"] {
            assert_eq!(split_once(text, b':'), text.split_once(':'), "{text:?}");
            let ours: Vec<&str> = pieces(text, 1).collect();
            let std: Vec<&str> = text.split('\u{1}').collect();
            assert_eq!(ours, std, "{text:?}");
            assert_eq!(position(text, b':'), text.find(':'), "{text:?}");
        }
    }
}
