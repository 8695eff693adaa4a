//! Photos taken on the phone (issue #18): made ready to attach — the format read from the bytes,
//! the location removed — and kept as content-addressed blobs, uploaded before the documents that
//! name them, like a signature's strokes. What a photo may be is the protocol's
//! (`huifang_protocol::PhotoRef`'s review); this module only prepares the bytes.

use std::io::Cursor;

use huifang_protocol::{MAX_PHOTO_BYTES, PhotoFormat, carries_location};
use img_parts::jpeg::{Jpeg, markers};
use img_parts::png::Png;
use img_parts::{Bytes, ImageEXIF};
use rusqlite::{Connection, Transaction, params};
use sha2::{Digest, Sha256};

use crate::error::{ClientError, Result};

/// XMP in a JPEG: an APP1 segment with this namespace (it may carry `exif:GPSLatitude`).
const XMP_NAMESPACE: &[u8] = b"http://ns.adobe.com/xap/1.0/";

/// The photo as it is attached: its format and its bytes with no location left in them. A JPEG's
/// or PNG's metadata is replaced by its orientation alone (so it still shows upright); a HEIC that
/// says where it was taken is refused, since the app can export it without.
pub(crate) fn prepare(bytes: Vec<u8>) -> Result<(PhotoFormat, Vec<u8>)> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(ClientError::invalid(format!(
            "the photo has {} bytes; at most {MAX_PHOTO_BYTES} are kept — attach a smaller picture",
            bytes.len()
        )));
    }
    let format = PhotoFormat::of(&bytes).ok_or_else(|| {
        ClientError::invalid("a photo is a JPEG, PNG or HEIC picture (judged by its content)")
    })?;
    let unreadable = |e: img_parts::Error| {
        ClientError::invalid(format!("the {format} photo cannot be read: {e}"))
    };
    let prepared = match format {
        PhotoFormat::Jpeg => {
            let mut jpeg = Jpeg::from_bytes(Bytes::from(bytes)).map_err(unreadable)?;
            let kept = jpeg.exif().and_then(|exif| orientation_only(&exif));
            jpeg.segments_mut().retain(|segment| {
                !(segment.marker() == markers::APP1
                    && segment.contents().starts_with(XMP_NAMESPACE))
            });
            jpeg.set_exif(kept.map(Bytes::from));
            jpeg.encoder().bytes().to_vec()
        }
        PhotoFormat::Png => {
            let mut png = Png::from_bytes(Bytes::from(bytes)).map_err(unreadable)?;
            let kept = png.exif().and_then(|exif| orientation_only(&exif));
            // Text chunks carry XMP (and so, possibly, a location).
            png.chunks_mut()
                .retain(|chunk| !matches!(&chunk.kind(), b"iTXt" | b"tEXt" | b"zTXt"));
            png.set_exif(kept.map(Bytes::from));
            png.encoder().bytes().to_vec()
        }
        PhotoFormat::Heic => bytes,
    };
    if carries_location(&prepared) {
        return Err(ClientError::invalid(
            "the photo says where it was taken; export it without its location (iOS: Options → \
             Location off; Android: remove location) and attach it again",
        ));
    }
    Ok((format, prepared))
}

/// A TIFF-structured EXIF block holding only the picture's orientation, if it has one.
fn orientation_only(exif: &[u8]) -> Option<Vec<u8>> {
    let read = exif::Reader::new().read_raw(exif.to_vec()).ok()?;
    let orientation = read.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    let mut writer = exif::experimental::Writer::new();
    writer.push_field(orientation);
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).ok()?;
    Some(out.into_inner())
}

/// Keeps a prepared photo as a blob waiting for upload; returns its SHA-256.
pub(crate) fn store_blob(tx: &Transaction<'_>, bytes: &[u8], now: &str) -> Result<String> {
    let hash = hex::encode(Sha256::digest(bytes));
    tx.execute(
        "INSERT OR IGNORE INTO blobs (sha256, bytes, created_at) VALUES (?1, ?2, ?3)",
        params![hash, bytes, now],
    )?;
    Ok(hash)
}

/// Whether a photo downloaded from the server is the photo of that name (and a photo at all).
pub(crate) fn check_fetched(hash: &str, bytes: &[u8]) -> Result<()> {
    if bytes.len() > MAX_PHOTO_BYTES
        || PhotoFormat::of(bytes).is_none()
        || hex::encode(Sha256::digest(bytes)) != hash
    {
        return Err(ClientError::Corrupt {
            reason: format!("the server's copy of photo {hash} is not that photo"),
        });
    }
    Ok(())
}

/// Keeps a photo downloaded from the server (it is the server's already: never uploaded again).
pub(crate) fn keep_fetched(
    tx: &Transaction<'_>,
    hash: &str,
    bytes: &[u8],
    now: &str,
) -> Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO blobs (sha256, bytes, created_at, uploaded) VALUES (?1, ?2, ?3, 1)",
        params![hash, bytes, now],
    )?;
    Ok(())
}

/// A photo's bytes, if this phone holds them (taken here, or fetched before).
pub(crate) fn bytes(conn: &Connection, hash: &str) -> Result<Vec<u8>> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT bytes FROM blobs WHERE sha256 = ?1", [hash], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| ClientError::NotFound {
        what: format!("photo {hash}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG whose EXIF holds an orientation and a GPS position, and an XMP packet saying it too.
    fn located_jpeg() -> Vec<u8> {
        use exif::{Field, In, Tag, Value};
        let fields = [
            Field {
                tag: Tag::Orientation,
                ifd_num: In::PRIMARY,
                value: Value::Short(vec![6]),
            },
            Field {
                tag: Tag::GPSLatitudeRef,
                ifd_num: In::PRIMARY,
                value: Value::Ascii(vec![b"N".to_vec()]),
            },
            Field {
                tag: Tag::GPSLatitude,
                ifd_num: In::PRIMARY,
                value: Value::Rational(vec![(23, 1).into(), (7, 1).into(), (0, 1).into()]),
            },
        ];
        let mut writer = exif::experimental::Writer::new();
        for field in &fields {
            writer.push_field(field);
        }
        let mut exif = Cursor::new(Vec::new());
        writer.write(&mut exif, false).unwrap();
        // The smallest JPEG: SOI, a quantisation-free stub is enough for the container.
        let mut jpeg = Jpeg::from_bytes(Bytes::from_static(&[
            0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x00, 0xFF, 0xD9,
        ]))
        .unwrap();
        jpeg.set_exif(Some(Bytes::from(exif.into_inner())));
        let mut xmp = XMP_NAMESPACE.to_vec();
        xmp.extend_from_slice(
            b"\0<x:xmpmeta><exif:GPSLatitude>23,7N</exif:GPSLatitude></x:xmpmeta>",
        );
        jpeg.segments_mut().insert(
            1,
            img_parts::jpeg::JpegSegment::new_with_contents(markers::APP1, Bytes::from(xmp)),
        );
        jpeg.encoder().bytes().to_vec()
    }

    #[test]
    fn a_jpeg_keeps_its_orientation_and_loses_its_location() {
        let located = located_jpeg();
        assert!(
            carries_location(&located),
            "the test photo says where it was taken"
        );
        let (format, prepared) = prepare(located).unwrap();
        assert_eq!(format, PhotoFormat::Jpeg);
        assert!(!carries_location(&prepared));
        let exif = exif::Reader::new()
            .read_from_container(&mut Cursor::new(&prepared))
            .unwrap();
        let orientation = exif
            .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .unwrap();
        assert_eq!(
            orientation.value.get_uint(0),
            Some(6),
            "still shown upright"
        );
    }

    #[test]
    fn what_is_not_a_photo_or_too_big_is_refused() {
        assert!(matches!(
            prepare(b"GIF89a....".to_vec()),
            Err(ClientError::InvalidInput { .. })
        ));
        let mut big = vec![0xFF, 0xD8, 0xFF];
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert!(matches!(
            prepare(big),
            Err(ClientError::InvalidInput { .. })
        ));
        assert!(prepare(vec![0xFF, 0xD8, 0xFF, 0x00]).is_err(), "a cut JPEG");
    }
}
