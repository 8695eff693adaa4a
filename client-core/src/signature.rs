//! On-site signatures (SPEC §5, D-SIG-1): the customer's strokes from the app's canvas, kept as a
//! content-addressed blob and bound to a SHA-256 of what they signed; rendered to SVG and PNG;
//! verified later.

use huifang_protocol::{FollowUp, Sheet, content_sha256};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ClientError, Result};

/// Limits that keep a signature a signature (and the blob small).
const MAX_STROKES: usize = 200;
const MAX_POINTS: usize = 20_000;
const MAX_CANVAS: u32 = 4096;

/// One sampled point of a stroke.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StrokePoint {
    pub x: f32,
    pub y: f32,
    /// Milliseconds since the signing started.
    pub t_ms: u64,
    /// 0–1 where the screen reports it.
    pub pressure: Option<f32>,
}

/// One continuous pen movement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Stroke {
    pub points: Vec<StrokePoint>,
}

/// What the app's signature canvas hands over.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SignatureInput {
    pub strokes: Vec<Stroke>,
    /// The canvas size the points are measured in.
    pub width: u32,
    pub height: u32,
    pub signer_name: String,
}

/// Whether a stored signature still matches what was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SignatureCheck {
    pub intact: bool,
    /// Why not, in words; empty when intact.
    pub reason: String,
}

/// The stored form of a signature: canonical JSON, so equal strokes give equal hashes.
#[derive(Debug, Serialize, Deserialize)]
struct SignatureBlob {
    width: u32,
    height: u32,
    strokes: Vec<Stroke>,
}

impl SignatureInput {
    fn check(&self) -> Result<()> {
        let invalid = |reason: &str| Err(ClientError::invalid(format!("signature: {reason}")));
        if self.signer_name.trim().is_empty() || self.signer_name.chars().count() > 50 {
            return invalid("signer_name must have 1–50 characters");
        }
        if !(1..=MAX_CANVAS).contains(&self.width) || !(1..=MAX_CANVAS).contains(&self.height) {
            return invalid("the canvas must be 1–4096 points wide and high");
        }
        if self.strokes.is_empty() || self.strokes.iter().all(|s| s.points.is_empty()) {
            return invalid("there are no strokes; the customer has not signed");
        }
        if self.strokes.len() > MAX_STROKES
            || self.strokes.iter().map(|s| s.points.len()).sum::<usize>() > MAX_POINTS
        {
            return invalid("too many strokes or points");
        }
        let (w, h) = (self.width as f32, self.height as f32);
        for stroke in &self.strokes {
            for pair in stroke.points.windows(2) {
                if pair[1].t_ms < pair[0].t_ms {
                    return invalid("point times must not go backwards within a stroke");
                }
            }
            for p in &stroke.points {
                if !p.x.is_finite()
                    || !p.y.is_finite()
                    || p.x < 0.0
                    || p.y < 0.0
                    || p.x > w
                    || p.y > h
                {
                    return invalid("a point lies outside the canvas");
                }
                if p.pressure.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                    return invalid("pressure must be between 0 and 1");
                }
            }
        }
        Ok(())
    }
}

/// Stores the strokes as a blob and returns its SHA-256.
pub(crate) fn store_blob(
    tx: &Transaction<'_>,
    input: &SignatureInput,
    now: &str,
) -> Result<String> {
    input.check()?;
    let blob = SignatureBlob {
        width: input.width,
        height: input.height,
        strokes: input.strokes.clone(),
    };
    let bytes =
        serde_json::to_vec(&blob).map_err(|e| ClientError::invalid(format!("signature: {e}")))?;
    let hash = hex::encode(Sha256::digest(&bytes));
    tx.execute(
        "INSERT OR IGNORE INTO blobs (sha256, bytes, created_at) VALUES (?1, ?2, ?3)",
        params![hash, bytes, now],
    )?;
    Ok(hash)
}

fn load_blob(conn: &Connection, hash: &str) -> Result<SignatureBlob> {
    let bytes: Vec<u8> = conn
        .query_row("SELECT bytes FROM blobs WHERE sha256 = ?1", [hash], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or_else(|| ClientError::not_found(format!("signature {hash}")))?;
    if hex::encode(Sha256::digest(&bytes)) != hash {
        return Err(ClientError::Corrupt {
            reason: format!("signature blob {hash} does not match its hash"),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| ClientError::Corrupt {
        reason: format!("signature blob {hash}: {e}"),
    })
}

/// Compares a follow-up's signature with the current content and the stored strokes.
pub(crate) fn verify(
    conn: &Connection,
    sheet: Option<&Sheet>,
    follow_up: &FollowUp,
) -> Result<SignatureCheck> {
    let Some(signature) = &follow_up.signature else {
        return Ok(SignatureCheck {
            intact: false,
            reason: "the follow-up has no signature".into(),
        });
    };
    if let Err(e) = load_blob(conn, &signature.blob_sha256) {
        return Ok(SignatureCheck {
            intact: false,
            reason: e.to_string(),
        });
    }
    if content_sha256(sheet, follow_up) != signature.content_sha256 {
        return Ok(SignatureCheck {
            intact: false,
            reason: "the signed content was changed after the customer signed".into(),
        });
    }
    Ok(SignatureCheck {
        intact: true,
        reason: String::new(),
    })
}

/// The signature as an SVG document (paths in the canvas's coordinates).
pub(crate) fn svg(conn: &Connection, hash: &str) -> Result<String> {
    let blob = load_blob(conn, hash)?;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#,
        w = blob.width,
        h = blob.height
    );
    for stroke in &blob.strokes {
        let Some(first) = stroke.points.first() else {
            continue;
        };
        let mut d = format!("M{:.1} {:.1}", first.x, first.y);
        if stroke.points.len() == 1 {
            d.push_str(&format!(" L{:.1} {:.1}", first.x + 0.1, first.y));
        }
        for p in &stroke.points[1..] {
            d.push_str(&format!(" L{:.1} {:.1}", p.x, p.y));
        }
        out.push_str(&format!(
            r#"<path d="{d}" fill="none" stroke="black" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"/>"#
        ));
    }
    out.push_str("</svg>");
    Ok(out)
}

/// The signature rasterised (tiny-skia) to a PNG `width` pixels wide, black on white.
pub(crate) fn png(conn: &Connection, hash: &str, width: u32) -> Result<Vec<u8>> {
    use tiny_skia::{
        Color, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Stroke as Pen, Transform,
    };
    if !(16..=4096).contains(&width) {
        return Err(ClientError::invalid("PNG width must be 16–4096 pixels"));
    }
    let blob = load_blob(conn, hash)?;
    let scale = width as f32 / blob.width as f32;
    let height = ((blob.height as f32 * scale).round() as u32).max(1);
    let mut pixmap = Pixmap::new(width, height)
        .ok_or_else(|| ClientError::invalid("PNG size is not drawable"))?;
    pixmap.fill(Color::WHITE);
    let mut paint = Paint::default();
    paint.set_color(Color::BLACK);
    paint.anti_alias = true;
    let pen = Pen {
        width: 2.5,
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Pen::default()
    };
    for stroke in &blob.strokes {
        let mut path = PathBuilder::new();
        let Some(first) = stroke.points.first() else {
            continue;
        };
        path.move_to(first.x, first.y);
        if stroke.points.len() == 1 {
            path.line_to(first.x + 0.1, first.y);
        }
        for p in &stroke.points[1..] {
            path.line_to(p.x, p.y);
        }
        if let Some(path) = path.finish() {
            pixmap.stroke_path(
                &path,
                &paint,
                &pen,
                Transform::from_scale(scale, scale),
                None,
            );
        }
    }
    pixmap.encode_png().map_err(|e| ClientError::Storage {
        reason: format!("PNG encoding failed: {e}"),
    })
}
