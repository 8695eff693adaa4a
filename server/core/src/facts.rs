//! The facts the protocol's review of a document change needs (`huifang_protocol::review_*`),
//! gathered inside the write's transaction: the server's clock, the household as the caller's
//! registry scope sees it, whether the customer signed for the matter, the sheet a follow-up is
//! about, and who uploaded a signature's strokes. The HTTP handlers and the sync endpoint gather
//! them here, so both meet exactly the same rules.

use huifang_protocol::{
    BlobFact, FollowUp, FollowUpFacts, HouseholdFact, PhotoFact, PhotoFacts, PhotoFormat, PhotoRef,
    Sheet, SheetFacts, SurveyFormFact, added_photos, carries_location, review_follow_up,
    review_sheet,
};

use crate::auth::{Caller, HouseholdScope};
use crate::error::Error;
use huifang_store::documents::DocWrite;
use huifang_store::{blobs, followups, registry, surveys};

/// Whether `household` is one the caller may work with, and its customers.
async fn household_fact(
    write: &mut DocWrite,
    scope: HouseholdScope,
    household: i64,
) -> Result<HouseholdFact, Error> {
    if !registry::household_visible(write.tx(), scope, household).await? {
        return Ok(HouseholdFact::Unknown {
            household_id: household,
        });
    }
    let customers = registry::customers_of(write.tx(), household).await?;
    Ok(HouseholdFact::InScope {
        household_id: household,
        customers,
    })
}

/// The facts for a new sheet (`before` is `None`) or a change to one.
pub async fn for_sheet(
    write: &mut DocWrite,
    caller: &Caller,
    before: Option<&Sheet>,
    after: &Sheet,
) -> Result<SheetFacts, Error> {
    let household = match after.household_id {
        Some(household) if huifang_protocol::names_another_household(before, after) => {
            Some(household_fact(write, caller.household_scope(), household).await?)
        }
        _ => None,
    };
    let signed = match before {
        Some(before) => followups::customer_signed(write.tx(), &before.id).await?,
        None => false,
    };
    let photos = photo_facts(write, before.map_or(&[][..], |b| &b.photos), &after.photos).await?;
    Ok(SheetFacts {
        now: write.now,
        household,
        signed,
        photos,
    })
}

/// The blobs of the photos `after` adds: who uploaded each, the format its bytes are in and
/// whether it says where it was taken; and whether the company keeps locations.
async fn photo_facts(
    write: &mut DocWrite,
    before: &[PhotoRef],
    after: &[PhotoRef],
) -> Result<PhotoFacts, Error> {
    let added = added_photos(before, after);
    if added.is_empty() {
        return Ok(PhotoFacts::default());
    }
    let keep_location = crate::rules::RuleSettings::load_in(write)
        .await?
        .keep_photo_location;
    let mut facts = Vec::new();
    for photo in added {
        let fact = match blobs::held(write.tx(), &photo.blob_sha256).await? {
            None => PhotoFact::Missing,
            Some((uploaded_by, bytes)) => PhotoFact::Stored {
                uploaded_by,
                format: PhotoFormat::of(&bytes),
                carries_location: carries_location(&bytes),
            },
        };
        facts.push((photo.blob_sha256.clone(), fact));
    }
    Ok(PhotoFacts {
        blobs: facts,
        keep_location,
    })
}

/// The facts for a change to a follow-up.
pub async fn for_follow_up(
    write: &mut DocWrite,
    before: &FollowUp,
    after: &FollowUp,
) -> Result<FollowUpFacts, Error> {
    let sheet = match &after.sheet_id {
        Some(id) => write.load::<Sheet>(id).await?.map(|(_, sheet)| sheet),
        None => None,
    };
    let signature_blob = match (&before.signature, &after.signature) {
        (None, Some(signature)) => {
            let uploaded_by = blobs::uploader(write.tx(), &signature.blob_sha256).await?;
            Some(match uploaded_by {
                None => BlobFact::Missing,
                Some(uploaded_by) => {
                    let used_elsewhere = followups::signature_used_elsewhere(
                        write.tx(),
                        &signature.blob_sha256,
                        &after.id,
                    )
                    .await?;
                    BlobFact::Stored {
                        uploaded_by,
                        used_elsewhere,
                    }
                }
            })
        }
        _ => None,
    };
    let survey_form = match (&before.survey_response, &after.survey_response) {
        (None, Some(response)) => Some(survey_form_fact(write, &after.id, response.form_id).await?),
        _ => None,
    };
    let photos = photo_facts(write, &before.photos, &after.photos).await?;
    Ok(FollowUpFacts {
        now: write.now,
        sheet,
        signature_blob,
        survey_form,
        photos,
    })
}

/// The form a new answer sheet names, if it was sent to this follow-up's household.
async fn survey_form_fact(
    write: &mut DocWrite,
    follow_up_id: &str,
    form_id: i64,
) -> Result<SurveyFormFact, Error> {
    if surveys::sent_to(write, follow_up_id, form_id)
        .await?
        .is_none()
    {
        return Ok(SurveyFormFact::NotSent);
    }
    let Some(form) = surveys::form_in(write, form_id).await? else {
        return Ok(SurveyFormFact::NotSent);
    };
    Ok(SurveyFormFact::Sent {
        taking_answers: form.status == surveys::FormStatus::Distributed,
        approved_sha256: form.approved_sha256.unwrap_or_default(),
        content: form.content,
    })
}

/// Gathers the facts and reviews a sheet change as `caller` proposes it.
pub async fn review_sheet_change(
    write: &mut DocWrite,
    caller: &Caller,
    before: Option<&Sheet>,
    after: &Sheet,
) -> Result<(), Error> {
    let facts = for_sheet(write, caller, before, after).await?;
    Ok(review_sheet(before, after, &caller.actor(), &facts)?)
}

/// Gathers the facts and reviews a follow-up change as `caller` proposes it.
pub async fn review_follow_up_change(
    write: &mut DocWrite,
    caller: &Caller,
    before: &FollowUp,
    after: &FollowUp,
) -> Result<(), Error> {
    let facts = for_follow_up(write, before, after).await?;
    Ok(review_follow_up(before, after, &caller.actor(), &facts)?)
}
