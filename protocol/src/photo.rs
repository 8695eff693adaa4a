//! Photos staff attach offline (issue #18): to a sheet, what the customer showed; to a repair's
//! follow-up, before and after. A photo is a content-addressed blob uploaded like a signature's
//! strokes; a document names it by a [`PhotoRef`]. What a photo may be is decided here, from its
//! bytes, so the phone and the server judge the same file alike: JPEG, PNG or HEIC by content
//! (not by a name or a declared type), within [`MAX_PHOTO_BYTES`], and carrying no location
//! unless the company keeps locations.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::labels::labelled_enum;

/// The largest photo kept: a phone's camera picture, resized by the app to a sensible size.
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;
/// The most photos one sheet or follow-up carries.
pub const MAX_PHOTOS: usize = 12;
/// The longest caption, in characters.
pub const MAX_CAPTION: usize = 200;

/// A photo's file format, read from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PhotoFormat {
    Jpeg,
    Png,
    Heic,
}

labelled_enum!(PhotoFormat {
    Jpeg => ("jpeg", "JPEG", "JPEG"),
    Png => ("png", "PNG", "PNG"),
    Heic => ("heic", "HEIC", "HEIC"),
});

impl PhotoFormat {
    /// The format the bytes are in, by their signature; `None` for anything else.
    pub fn of(bytes: &[u8]) -> Option<PhotoFormat> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(PhotoFormat::Jpeg);
        }
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(PhotoFormat::Png);
        }
        // ISO base media: a `ftyp` box naming a HEIF brand of a still picture.
        if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
            let brand = &bytes[8..12];
            if [b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"]
                .iter()
                .any(|b| brand == *b)
            {
                return Some(PhotoFormat::Heic);
            }
        }
        None
    }

    /// The MIME type a browser is given.
    pub fn mime(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
            PhotoFormat::Heic => "image/heic",
        }
    }
}

/// Whether the picture's metadata says where it was taken: EXIF GPS fields (in any of the three
/// formats), or GPS properties in XMP. Unreadable metadata is no location.
pub fn carries_location(bytes: &[u8]) -> bool {
    let mut cursor = std::io::Cursor::new(bytes);
    let gps_in_exif = exif::Reader::new()
        .read_from_container(&mut cursor)
        .map(|exif| {
            exif.fields()
                .any(|field| field.tag.context() == exif::Context::Gps)
        })
        .unwrap_or(false);
    gps_in_exif || contains(bytes, b"GPSLatitude") || contains(bytes, b"GPSLongitude")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What a photo shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PhotoPurpose {
    /// On a sheet: what the customer showed or reported.
    Reported,
    /// On a repair's follow-up: before the repair.
    Before,
    /// On a repair's follow-up: after the repair.
    After,
}

labelled_enum!(PhotoPurpose {
    Reported => ("reported", "客户反映", "What the customer showed"),
    Before => ("before", "维修前", "Before the repair"),
    After => ("after", "维修后", "After the repair"),
});

/// A photo a document refers to: the blob's SHA-256, its format, what it shows, who took it and
/// when (on the phone's clock).
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PhotoRef {
    #[key]
    pub blob_sha256: String,
    pub format: PhotoFormat,
    pub purpose: PhotoPurpose,
    pub taken_by: i64,
    pub taken_at: String,
    pub caption: String,
}

/// The blob a new photo names, as the reviewer finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoFact {
    /// No blob with that SHA-256 has been uploaded (completely).
    Missing,
    /// The blob is stored: who uploaded it, the format its bytes are in, whether it says where it
    /// was taken.
    Stored {
        uploaded_by: i64,
        format: Option<PhotoFormat>,
        carries_location: bool,
    },
}

/// What a review needs to know of the photos a change adds: their blobs (by SHA-256) and whether
/// the company keeps photos' locations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhotoFacts {
    pub blobs: Vec<(String, PhotoFact)>,
    pub keep_location: bool,
}

impl PhotoFacts {
    pub(crate) fn blob(&self, hash: &str) -> Option<&PhotoFact> {
        self.blobs.iter().find(|(h, _)| h == hash).map(|(_, f)| f)
    }
}

/// The photos `after` adds to `before` (photos are only ever added).
pub fn added_photos<'a>(before: &[PhotoRef], after: &'a [PhotoRef]) -> Vec<&'a PhotoRef> {
    after
        .iter()
        .filter(|p| !before.iter().any(|b| b.blob_sha256 == p.blob_sha256))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_is_known_by_its_content() {
        assert_eq!(
            PhotoFormat::of(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some(PhotoFormat::Jpeg)
        );
        assert_eq!(
            PhotoFormat::of(b"\x89PNG\r\n\x1a\n...."),
            Some(PhotoFormat::Png)
        );
        assert_eq!(
            PhotoFormat::of(b"\0\0\0\x18ftypheic\0\0\0\0"),
            Some(PhotoFormat::Heic)
        );
        assert_eq!(
            PhotoFormat::of(b"\0\0\0\x18ftypmp42\0\0\0\0"),
            None,
            "a video"
        );
        assert_eq!(PhotoFormat::of(b"GIF89a"), None);
        assert_eq!(PhotoFormat::of(b"<svg"), None);
        assert_eq!(PhotoFormat::of(b""), None);
    }
}
