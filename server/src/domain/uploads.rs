//! What an upload is allowed to be (PROTOCOL.md §22.6), decided from its bytes and its name alone: the image types
//! `/image` accepts (told by their first bytes, never by the name or the declared type), file names made safe for a
//! URL path and a `Content-Disposition` header, declared types kept only when well formed, and the file id read
//! back from one of our URLs.

/// The image types `/image` accepts, by their magic bytes. SVG is not among them: it is a document that runs
/// script, so it is uploaded with `/file` and served as a download.
const IMAGE_MAGIC: &[(&[u8], usize, &str)] = &[
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"BM", 0, "image/bmp"),
    (b"ftypavif", 4, "image/avif"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypmif1", 4, "image/heif"),
];

/// The image types `/image` accepts, as `GET /app` lists them.
pub const IMAGE_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/avif",
    "image/heic",
    "image/heif",
];

/// The longest file name kept, in bytes.
const MAX_NAME_BYTES: usize = 100;

/// The image type of `bytes`, if they start as one `/image` accepts (WebP also needs its `RIFF` header).
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    IMAGE_MAGIC.iter().find_map(|(magic, at, kind)| {
        let found = bytes.get(*at..at + magic.len()) == Some(magic);
        let riff = *kind != "image/webp" || bytes.starts_with(b"RIFF");
        (found && riff).then_some(*kind)
    })
}

/// `name` with every character but ASCII letters, digits, `.`, `-` and `_` replaced by `_`, without leading dots,
/// at most [`MAX_NAME_BYTES`]; `file` when nothing is left. Safe in a URL path segment and a quoted header value,
/// and never a path: no separators are left (`../x` becomes `_x`).
pub fn safe_name(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    let trimmed = mapped.trim_start_matches('.');
    let mut safe: String = trimmed.chars().take(MAX_NAME_BYTES).collect();
    if safe.is_empty() || safe.chars().all(|c| c == '_') {
        safe = "file".into();
    }
    safe
}

/// A declared content type kept as is when it is a plain `type/subtype` (letters, digits, `.+-_`, ≤ 100 bytes),
/// else `application/octet-stream`.
pub fn declared_type(declared: Option<&str>) -> String {
    let plain = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'_'))
    };
    match declared.map(|value| value.split(';').next().unwrap_or("").trim().to_ascii_lowercase()) {
        Some(kind)
            if kind.len() <= 100
                && kind.split_once('/').is_some_and(|(a, b)| plain(a) && plain(b)) =>
        {
            kind
        }
        _ => "application/octet-stream".into(),
    }
}

/// The file id in `url` when it is one of our upload URLs (`…/uploads/{id}/{name}`).
pub fn file_id(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("/uploads/")?;
    let id = rest.split('/').next()?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// The upload URLs among a message's attachments (`image_url`, `asset_url`, `thumb_url`), as file ids.
pub fn attachment_file_ids(extra: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let Some(attachments) = extra.get("attachments").and_then(|value| value.as_array()) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = attachments
        .iter()
        .flat_map(|attachment| {
            ["image_url", "asset_url", "thumb_url"].map(|key| attachment.get(key))
        })
        .filter_map(|url| url.and_then(|url| url.as_str()).and_then(file_id))
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_told_by_their_bytes() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(b"\xff\xd8\xff\xe0"), Some("image/jpeg"));
        assert_eq!(sniff_image(b"GIF89a.."), Some("image/gif"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"XXXX\0\0\0\0WEBPVP8 "), None);
        assert_eq!(sniff_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(sniff_image(b"<html><script>alert(1)</script>"), None);
        assert_eq!(sniff_image(b""), None);
    }

    #[test]
    fn names_lose_everything_that_could_escape() {
        assert_eq!(safe_name("cat.png"), "cat.png");
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name("..\\..\\x.exe"), "_.._x.exe");
        assert_eq!(safe_name("a\"b\r\nc.txt"), "a_b__c.txt");
        assert_eq!(safe_name("résumé.pdf"), "r_sum_.pdf");
        assert_eq!(safe_name(""), "file");
        assert_eq!(safe_name("..."), "file");
        assert_eq!(safe_name(&"x".repeat(500)).len(), MAX_NAME_BYTES);
    }

    #[test]
    fn declared_types_are_kept_only_when_plain() {
        assert_eq!(declared_type(Some("application/pdf")), "application/pdf");
        assert_eq!(declared_type(Some("Text/Plain; charset=utf-8")), "text/plain");
        assert_eq!(declared_type(Some("text/html\r\nX-Evil: 1")), "application/octet-stream");
        assert_eq!(declared_type(Some("nonsense")), "application/octet-stream");
        assert_eq!(declared_type(None), "application/octet-stream");
    }

    #[test]
    fn file_ids_come_only_from_upload_urls() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(file_id(&format!("http://h:1/uploads/{id}/a.png")), Some(id));
        assert_eq!(file_id("http://h/uploads/../x"), None);
        assert_eq!(file_id("https://example.com/a.png"), None);
        let extra = serde_json::json!({"attachments": [
            {"type": "image", "image_url": format!("http://h/uploads/{id}/a.png"), "thumb_url": format!("http://h/uploads/{id}/a.png")},
            {"type": "file", "asset_url": "https://elsewhere/x.pdf"}
        ]});
        assert_eq!(attachment_file_ids(extra.as_object().unwrap()), vec![id.to_owned()]);
    }
}
