//! Photos attached to sheets and repairs (issue #18): what may be attached is the protocol's
//! review (`huifang_protocol::PhotoRef`), who may read one is [`crate::blobs::readable`]; here,
//! the small pictures the dashboard shows, drawn on the server from the stored photo.

use std::io::Cursor;

use huifang_protocol::PhotoFormat;
use image::{ImageFormat, ImageReader, Limits};

use crate::error::{CoreResult, Error};

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_EDGE: u32 = 320;
/// The largest picture decoded: a 50-megapixel camera's, so a crafted file cannot make the
/// server allocate gigabytes.
const MAX_PIXELS_EDGE: u32 = 10_000;
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// A JPEG at most [`THUMBNAIL_EDGE`] pixels on its longest side, of a JPEG or PNG photo. HEIC
/// photos have none (no maintained pure-Rust decoder; the dashboard offers the file instead).
/// CPU-bound: call it off the async threads.
pub fn thumbnail(bytes: &[u8]) -> CoreResult<Vec<u8>> {
    let format = match PhotoFormat::of(bytes) {
        Some(PhotoFormat::Jpeg) => ImageFormat::Jpeg,
        Some(PhotoFormat::Png) => ImageFormat::Png,
        Some(PhotoFormat::Heic) => {
            return Err(Error::invalid(
                "a HEIC photo has no thumbnail; download the photo itself",
            ));
        }
        None => return Err(Error::invalid("this blob is not a photo")),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_PIXELS_EDGE);
    limits.max_image_height = Some(MAX_PIXELS_EDGE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let picture = reader
        .decode()
        .map_err(|e| Error::invalid(format!("the photo cannot be read: {e}")))?;
    let small = picture
        .thumbnail(THUMBNAIL_EDGE, THUMBNAIL_EDGE)
        .into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .map_err(|e| Error::internal(format!("encoding a thumbnail: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_thumbnail_is_a_small_jpeg_of_the_photo() {
        let small = thumbnail(&png(1600, 900)).unwrap();
        assert_eq!(PhotoFormat::of(&small), Some(PhotoFormat::Jpeg));
        let drawn = image::load_from_memory(&small).unwrap();
        assert_eq!((drawn.width(), drawn.height()), (320, 180));
    }

    #[test]
    fn what_is_not_a_readable_photo_is_refused_not_panicked_on() {
        assert!(thumbnail(b"not a photo").is_err());
        let mut cut = png(64, 64);
        cut.truncate(60);
        assert!(thumbnail(&cut).is_err());
        assert!(thumbnail(b"\0\0\0\x18ftypheic\0\0\0\0").is_err());
    }
}
