//! Offline edits. Each runs in one SQLite transaction and obeys the same rules as the server
//! (`huifang-protocol`): transitions, field permissions and validation. So a legitimate phone
//! never makes a change the server will refuse, and nothing typed is lost to a later rejection.

use automerge::{ActorId, AutoCommit};
use chrono::{DateTime, Utc};
use huifang_protocol::{
    BlobFact, ComplaintLevel, DocumentKind, FollowUp, FollowUpFacts, FollowUpKind, FollowUpListing,
    FollowUpMethod, FollowUpStatus, HouseholdFact, InformationSource, MAX_UNREACHABLE_ATTEMPTS,
    Outcome, PhoneNumber, PhotoFact, PhotoFacts, PhotoFormat, PhotoPurpose, PhotoRef, Ratings,
    ReportedItem, Sheet, SheetCategory, SheetFacts, SheetIntake, SheetListing, SignatureRef,
    SurveyAnswer, SurveyChannel, SurveyFormFact, SurveyFormRow, SurveyResponse, TrackingNote,
    UnreachableAttempt, added_photos, carries_location, content_sha256, format_time, parse_time,
    review_follow_up, review_sheet,
};
use rusqlite::{OptionalExtension, Transaction};

use crate::documents;
use crate::error::{ClientError, Result};
use crate::projections::{project_follow_up, project_sheet};
use crate::session::Session;

/// A sheet accepted on the doorstep.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewSheet {
    pub level: ComplaintLevel,
    pub category: SheetCategory,
    pub source: InformationSource,
    /// A household from the reference rows fills in address and, without a customer, the first
    /// customer's name and phone.
    pub household_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub contact_phone: Option<String>,
    pub customer_address: Option<String>,
    /// What the customer reported, one text per item.
    pub items: Vec<String>,
}

/// What the customer said on a done follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OutcomeInput {
    pub method: FollowUpMethod,
    pub ratings: Ratings,
    pub opinions: String,
    /// When it was done; defaults to now (D-CB-2: the phone's time counts).
    pub done_at: Option<String>,
}

/// The review's verdict as the app sees it: the same kinds the server answers with.
fn refused(refusal: huifang_protocol::Refusal) -> ClientError {
    let reason = refusal.to_string();
    match refusal.kind {
        huifang_protocol::RefusalKind::Conflict => ClientError::Conflict { reason },
        huifang_protocol::RefusalKind::Forbidden => ClientError::PermissionDenied { reason },
        huifang_protocol::RefusalKind::Invalid => ClientError::invalid(reason),
    }
}

/// The facts for reviewing a sheet on this phone: its clock, the household as its reference rows
/// (its scope) have it, and whether the customer signed for the matter here.
fn sheet_facts(
    tx: &Transaction<'_>,
    before: Option<&Sheet>,
    after: &Sheet,
    now: DateTime<Utc>,
) -> Result<SheetFacts> {
    let household = match after.household_id {
        Some(household_id) if huifang_protocol::names_another_household(before, after) => {
            let known: i64 = tx.query_row(
                "SELECT COUNT(*) FROM households WHERE id = ?1",
                [household_id],
                |r| r.get(0),
            )?;
            Some(if known == 0 {
                HouseholdFact::Unknown { household_id }
            } else {
                let mut stmt = tx.prepare_cached(
                    "SELECT id FROM customers WHERE household_id = ?1 ORDER BY id",
                )?;
                let customers = stmt
                    .query_map([household_id], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<i64>>>()?;
                HouseholdFact::InScope {
                    household_id,
                    customers,
                }
            })
        }
        _ => None,
    };
    // D-SIG-1: a follow-up of this sheet carries the customer's signature.
    let signed = match before {
        Some(before) => {
            let mut stmt = tx.prepare_cached("SELECT id FROM follow_ups WHERE sheet_id = ?1")?;
            let ids = stmt
                .query_map([&before.id], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            let mut signed = false;
            for id in ids {
                let (_, follow_up) = documents::load::<FollowUp>(tx, &ActorId::random(), &id)?;
                signed |= follow_up.signature.is_some();
            }
            signed
        }
        None => false,
    };
    Ok(SheetFacts {
        now,
        household,
        signed,
        photos: photo_facts(tx, before.map_or(&[][..], |b| &b.photos), &after.photos)?,
    })
}

/// The facts of the photos a change adds, from the blobs this phone holds (taken here, so by
/// the signed-in staff member). This phone always removes locations, so none is kept.
fn photo_facts(
    tx: &Transaction<'_>,
    before: &[PhotoRef],
    after: &[PhotoRef],
) -> Result<PhotoFacts> {
    let added = added_photos(before, after);
    if added.is_empty() {
        return Ok(PhotoFacts::default());
    }
    // The signed-in staff member took every photo this phone holds.
    let staff_id = crate::session::require(tx)?.staff_id;
    let mut blobs = Vec::new();
    for photo in added {
        let fact = match crate::photos::bytes(tx, &photo.blob_sha256) {
            Ok(bytes) => PhotoFact::Stored {
                uploaded_by: staff_id,
                format: PhotoFormat::of(&bytes),
                carries_location: carries_location(&bytes),
            },
            Err(ClientError::NotFound { .. }) => PhotoFact::Missing,
            Err(e) => return Err(e),
        };
        blobs.push((photo.blob_sha256.clone(), fact));
    }
    Ok(PhotoFacts {
        blobs,
        keep_location: false,
    })
}

/// The facts for reviewing a follow-up on this phone: its clock, the sheet as this phone has it,
/// and the signature strokes stored here (made by this phone's signed-in user).
fn follow_up_facts(
    tx: &Transaction<'_>,
    session: &Session,
    actor: &ActorId,
    before: &FollowUp,
    after: &FollowUp,
    now: DateTime<Utc>,
) -> Result<FollowUpFacts> {
    let sheet = match &after.sheet_id {
        Some(sheet_id) => match documents::load::<Sheet>(tx, actor, sheet_id) {
            Ok((_, sheet)) => Some(sheet),
            Err(ClientError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    let signature_blob = match (&before.signature, &after.signature) {
        (None, Some(signature)) => {
            let stored: i64 = tx.query_row(
                "SELECT COUNT(*) FROM blobs WHERE sha256 = ?1",
                [&signature.blob_sha256],
                |r| r.get(0),
            )?;
            Some(if stored == 0 {
                BlobFact::Missing
            } else {
                BlobFact::Stored {
                    uploaded_by: session.staff_id,
                    used_elsewhere: false,
                }
            })
        }
        _ => None,
    };
    // Only forms taking answers travel to phones; the one a follow-up names is the one sent to
    // its household.
    let survey_form = match (&before.survey_response, &after.survey_response) {
        (None, Some(response)) => {
            Some(match crate::reference::survey_form(tx, response.form_id)? {
                Some(form) if after.survey_form_id.is_none_or(|id| id == form.id) => {
                    SurveyFormFact::Sent {
                        taking_answers: true,
                        approved_sha256: form.approved_sha256,
                        content: form.content,
                    }
                }
                _ => SurveyFormFact::NotSent,
            })
        }
        _ => None,
    };
    Ok(FollowUpFacts {
        now,
        sheet,
        signature_blob,
        survey_form,
        photos: photo_facts(tx, &before.photos, &after.photos)?,
    })
}

/// The opinion survey form a survey follow-up asks its household, as this phone holds it: the one
/// the follow-up names, or (for one distributed before follow-ups named it) the only one held.
pub(crate) fn survey_form_of(
    conn: &rusqlite::Connection,
    follow_up: &FollowUp,
) -> Result<SurveyFormRow> {
    if follow_up.kind != FollowUpKind::Survey {
        return Err(ClientError::invalid(format!(
            "follow-up {} is a {} follow-up; it asks no survey form",
            follow_up.id, follow_up.kind
        )));
    }
    let form = match follow_up.survey_form_id {
        Some(id) => crate::reference::survey_form(conn, id)?,
        None => {
            let mut held = crate::reference::survey_forms(conn)?;
            if held.len() == 1 { held.pop() } else { None }
        }
    };
    let form = form.ok_or_else(|| ClientError::Conflict {
        reason: format!(
            "the survey form of follow-up {} is not on this phone: it was closed, or the phone \
             has not synced since it was sent; sync and try again",
            follow_up.id
        ),
    })?;
    // D-SUR-2: the questions shown are the version the general manager approved.
    if form.content.sha256() != form.approved_sha256 {
        return Err(ClientError::Corrupt {
            reason: format!(
                "survey form {}'s questions are not the approved version; sync again",
                form.id
            ),
        });
    }
    Ok(form)
}

/// A time given by the app (RFC 3339), or now; its bounds are the review's to check.
pub(crate) fn given_time(field: &str, text: Option<&str>, now: DateTime<Utc>) -> Result<String> {
    let Some(text) = text else {
        return Ok(format_time(now));
    };
    let time = parse_time(field, text).map_err(ClientError::invalid)?;
    Ok(format_time(time))
}

pub(crate) fn accept_sheet(
    tx: &Transaction<'_>,
    session: &Session,
    actor: &ActorId,
    input: NewSheet,
    now: DateTime<Utc>,
) -> Result<Sheet> {
    let unit = session
        .unit_id
        .ok_or_else(|| ClientError::PermissionDenied {
            reason: "accepting a sheet needs a unit; your account has none".into(),
        })?;
    let household_id = match (input.household_id, input.customer_id) {
        (Some(h), _) => Some(h),
        (None, Some(customer)) => Some(
            tx.query_row(
                "SELECT household_id FROM customers WHERE id = ?1",
                [customer],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .ok_or_else(|| {
                ClientError::invalid(format!(
                    "customer_id: customer {customer} does not exist or is outside your scope"
                ))
            })?,
        ),
        (None, None) => None,
    };
    let (mut name, mut phone, mut address) = (None, None, None);
    if let Some(household) = household_id {
        address = Some(
            tx.query_row(
                "SELECT address FROM households WHERE id = ?1",
                [household],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .ok_or_else(|| {
                ClientError::invalid(format!(
                    "household_id: household {household} does not exist or is outside your scope"
                ))
            })?,
        );
        let customer: Option<(String, String)> = match input.customer_id {
            Some(id) => tx
                .query_row(
                    "SELECT name, phone FROM customers WHERE id = ?1 AND household_id = ?2",
                    [id, household],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .map(Some)
                .ok_or_else(|| {
                    ClientError::invalid(format!(
                        "customer_id: customer {id} is not of household {household}"
                    ))
                })?,
            None => tx
                .query_row(
                    "SELECT name, phone FROM customers WHERE household_id = ?1 ORDER BY id LIMIT 1",
                    [household],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?,
        };
        if let Some((n, p)) = customer {
            name = Some(n);
            phone = Some(p);
        }
    }
    let contact_phone = match input.contact_phone.or(phone) {
        Some(text) => PhoneNumber::parse(&text)
            .map_err(|e| ClientError::invalid(format!("contact_phone: {e}")))?
            .as_str()
            .to_owned(),
        None => {
            return Err(ClientError::invalid(
                "contact_phone is required (or a customer from the registry)",
            ));
        }
    };
    let now_text = format_time(now);
    let sheet = Sheet::accepted(SheetIntake {
        id: huifang_protocol::new_document_id(),
        accepted_at: now_text.clone(),
        level: input.level,
        category: input.category,
        source: input.source,
        household_id,
        customer_id: input.customer_id,
        customer_name: input.customer_name.or(name).unwrap_or_default(),
        customer_address: input.customer_address.or(address).unwrap_or_default(),
        contact_phone,
        accepted_by: session.staff_id,
        accepting_unit_id: unit,
        items: input
            .items
            .into_iter()
            .map(|text| ReportedItem {
                id: huifang_protocol::new_document_id(),
                text: text.trim().to_owned(),
            })
            .collect(),
        created_at: now_text.clone(),
    });
    let facts = sheet_facts(tx, None, &sheet, now)?;
    review_sheet(None, &sheet, &session.actor(), &facts).map_err(refused)?;
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    documents::insert_local(tx, &mut doc, &sheet, &now_text)?;
    project_sheet(tx, &SheetListing::from(&sheet))?;
    Ok(sheet)
}

/// Applies `edit` to a follow-up and stores it if every rule allows it.
fn change_follow_up(
    tx: &Transaction<'_>,
    session: &Session,
    actor: &ActorId,
    id: &str,
    now: DateTime<Utc>,
    edit: impl FnOnce(&mut FollowUp) -> Result<()>,
) -> Result<FollowUp> {
    let (mut doc, before) = documents::load::<FollowUp>(tx, actor, id)?;
    let heads = doc.get_heads();
    let mut after = before.clone();
    edit(&mut after)?;
    let facts = follow_up_facts(tx, session, actor, &before, &after, now)?;
    review_follow_up(&before, &after, &session.actor(), &facts).map_err(refused)?;
    documents::update_local(tx, &mut doc, &heads, &after, &format_time(now))?;
    project_follow_up(tx, &FollowUpListing::from(&after))?;
    Ok(after)
}

/// A signature being given with an outcome: its stored strokes and who signed.
pub(crate) struct Signing {
    pub blob_sha256: String,
    pub signer_name: String,
}

/// Completes a follow-up with the customer's answers (and signature, R-INF-8).
pub(crate) fn record_outcome(
    tx: &Transaction<'_>,
    session: &Session,
    actor: &ActorId,
    id: &str,
    input: OutcomeInput,
    signing: Option<Signing>,
    now: DateTime<Utc>,
) -> Result<FollowUp> {
    let done_at = given_time("done_at", input.done_at.as_deref(), now)?;
    // What a signature binds to: the sheet as it is on this phone, and the follow-up's outcome.
    let sheet: Option<Sheet> = match &signing {
        Some(_) => {
            let sheet_id: Option<String> = tx
                .query_row("SELECT sheet_id FROM follow_ups WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?
                .flatten();
            match sheet_id {
                Some(sheet_id) => match documents::load::<Sheet>(tx, actor, &sheet_id) {
                    Ok((_, sheet)) => Some(sheet),
                    Err(ClientError::NotFound { .. }) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            }
        }
        None => None,
    };
    let signed_at = format_time(now);
    change_follow_up(tx, session, actor, id, now, |follow_up| {
        follow_up.status = FollowUpStatus::Completed;
        follow_up.outcome = Some(Outcome {
            method: input.method,
            done_at,
            ratings: input.ratings,
            opinions: input.opinions.trim().to_owned(),
            recorded_by: session.staff_id,
        });
        if let Some(signing) = signing {
            follow_up.signature = Some(SignatureRef {
                blob_sha256: signing.blob_sha256,
                content_sha256: content_sha256(sheet.as_ref(), follow_up),
                signed_at,
                signer_name: signing.signer_name,
            });
        }
        Ok(())
    })
}

/// Records the household's answers to its survey follow-up's form (R-SUR-2), taken during a
/// visit: they complete the follow-up and travel in its document.
pub(crate) fn answer_survey(
    tx: &Transaction<'_>,
    session: &Session,
    actor: &ActorId,
    id: &str,
    answers: Vec<SurveyAnswer>,
    now: DateTime<Utc>,
) -> Result<FollowUp> {
    let (_, follow_up) = documents::load::<FollowUp>(tx, actor, id)?;
    let form = survey_form_of(tx, &follow_up)?;
    change_follow_up(tx, session, actor, id, now, |follow_up| {
        follow_up.status = FollowUpStatus::Completed;
        follow_up.survey_response = Some(
            SurveyResponse {
                form_id: form.id,
                form_sha256: form.approved_sha256,
                channel: SurveyChannel::Visit,
                entered_by: session.staff_id,
                answered_at: format_time(now),
                answers,
            }
            .trimmed(),
        );
        Ok(())
    })
}

/// A photo to attach: the picture's bytes (JPEG, PNG or HEIC, as the camera or gallery gives
/// them), what it shows and a caption.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PhotoInput {
    pub bytes: Vec<u8>,
    pub purpose: PhotoPurpose,
    pub caption: String,
}

/// Attaches a photo to a sheet (what the customer showed) or a repair's follow-up (before and
/// after), offline: the location removed, the blob kept for upload, the document changed under
/// the same review as the server's.
pub(crate) fn attach_photo(
    tx: &Transaction<'_>,
    session: &Session,
    actor: &ActorId,
    document_id: &str,
    input: PhotoInput,
    now: DateTime<Utc>,
) -> Result<PhotoRef> {
    let (format, bytes) = crate::photos::prepare(input.bytes)?;
    let now_text = format_time(now);
    let photo = PhotoRef {
        blob_sha256: crate::photos::store_blob(tx, &bytes, &now_text)?,
        format,
        purpose: input.purpose,
        taken_by: session.staff_id,
        taken_at: now_text.clone(),
        caption: input.caption.trim().to_owned(),
    };
    match documents::kind_of(tx, document_id)? {
        DocumentKind::FollowUp => {
            change_follow_up(tx, session, actor, document_id, now, |follow_up| {
                follow_up.photos.push(photo.clone());
                Ok(())
            })?;
        }
        DocumentKind::Sheet => {
            let (mut doc, before) = documents::load::<Sheet>(tx, actor, document_id)?;
            let heads = doc.get_heads();
            let mut after = before.clone();
            after.photos.push(photo.clone());
            let facts = sheet_facts(tx, Some(&before), &after, now)?;
            review_sheet(Some(&before), &after, &session.actor(), &facts).map_err(refused)?;
            documents::update_local(tx, &mut doc, &heads, &after, &now_text)?;
            project_sheet(tx, &SheetListing::from(&after))?;
        }
    }
    Ok(photo)
}

/// Records a failed attempt to reach the customer; the third makes the follow-up unreachable.
pub(crate) fn record_unreachable(
    tx: &Transaction<'_>,
    session: &Session,
    actor: &ActorId,
    id: &str,
    method: FollowUpMethod,
    note: String,
    now: DateTime<Utc>,
) -> Result<FollowUp> {
    let at = format_time(now);
    change_follow_up(tx, session, actor, id, now, |follow_up| {
        follow_up.unreachable_attempts.push(UnreachableAttempt {
            id: huifang_protocol::new_document_id(),
            at: at.clone(),
            by_staff_id: session.staff_id,
            method,
            note: note.trim().to_owned(),
        });
        if follow_up.unreachable_attempts.len() >= MAX_UNREACHABLE_ATTEMPTS {
            follow_up.status = FollowUpStatus::Unreachable;
        }
        Ok(())
    })
}

/// Adds a tracking note (跟踪情况) to a sheet.
pub(crate) fn add_tracking_note(
    tx: &Transaction<'_>,
    session: &Session,
    actor: &ActorId,
    id: &str,
    note: String,
    now: DateTime<Utc>,
) -> Result<Sheet> {
    let (mut doc, before) = documents::load::<Sheet>(tx, actor, id)?;
    let heads = doc.get_heads();
    let mut after = before.clone();
    let at = format_time(now);
    after.tracking.push(TrackingNote {
        id: huifang_protocol::new_document_id(),
        at: at.clone(),
        by_staff_id: session.staff_id,
        note: note.trim().to_owned(),
    });
    let facts = sheet_facts(tx, Some(&before), &after, now)?;
    review_sheet(Some(&before), &after, &session.actor(), &facts).map_err(refused)?;
    documents::update_local(tx, &mut doc, &heads, &after, &at)?;
    project_sheet(tx, &SheetListing::from(&after))?;
    Ok(after)
}
