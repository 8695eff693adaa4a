//! The one review of a proposed change to a document: `(before, after, actor, facts) → verdict`.
//!
//! Every path that changes a sheet or a follow-up calls it: the server's HTTP handlers, the
//! server's sync endpoint (for changes a phone made offline) and the phone core's offline edits.
//! So a rule is written once, and a modified phone that skips its own review meets the same
//! rule on the server. The review does no I/O: what it needs to know about the world (the
//! server's clock, whether a household is in the actor's scope, the sheet a follow-up is about,
//! who uploaded a signature's strokes) is gathered by the caller into [`SheetFacts`] or
//! [`FollowUpFacts`].
//!
//! A verdict names every refused field with its reason, and how bad it is: a transition that
//! cannot happen (conflict, 409), a field the actor may not change (forbidden, 403), or a value
//! that is not acceptable (invalid, 422).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::document::parse_time;
use crate::followup::{FollowUp, FollowUpKind, FollowUpMethod, FollowUpStatus, SignatureRef};
use crate::permissions::{Actor, FieldViolation, check_follow_up_change, check_sheet_change};
use crate::photo::{
    MAX_CAPTION, MAX_PHOTOS, PhotoFact, PhotoFacts, PhotoPurpose, PhotoRef, added_photos,
};
use crate::sheet::{Sheet, SheetStatus};
use crate::signature::content_sha256;
use crate::survey::{SurveyContent, SurveyResponse};

/// How far ahead of the reviewer's clock a submitted time may be (phone clocks drift).
pub const CLOCK_SKEW: Duration = Duration::minutes(5);
/// How far back a time typed or recorded on a phone may lie: a phone may stay offline for weeks,
/// but a sheet accepted in the year 1 or 2001 is a typing error or an attack on the figures.
pub const MAX_BACKDATE: Duration = Duration::days(31);

/// Sheet fields frozen once the customer has signed for the matter (D-SIG-1).
pub const SIGNED_SHEET_FIELDS: &[&str] = &[
    "customer_name",
    "customer_address",
    "items",
    "investigation",
    "result",
    "handled_at",
];

/// How bad a refusal is; the HTTP API answers 409, 403 or 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The value is not acceptable (422).
    Invalid,
    /// The actor may not make this change (403).
    Forbidden,
    /// The document's state does not allow it (409).
    Conflict,
}

/// Why a proposed change does not stand: every refused field with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub violations: Vec<FieldViolation>,
}

impl Refusal {
    /// The refused fields, in the order found, each once.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut fields: Vec<&'static str> = Vec::new();
        for violation in &self.violations {
            if !fields.contains(&violation.field) {
                fields.push(violation.field);
            }
        }
        fields
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::describe_violations(&self.violations))
    }
}

impl std::error::Error for Refusal {}

/// Collects violations of each kind while the rules run.
#[derive(Default)]
struct Verdict {
    violations: Vec<(RefusalKind, FieldViolation)>,
}

impl Verdict {
    fn refuse(&mut self, kind: RefusalKind, field: &'static str, reason: impl Into<String>) {
        self.violations.push((
            kind,
            FieldViolation {
                field,
                reason: reason.into(),
            },
        ));
    }

    fn extend(&mut self, kind: RefusalKind, violations: Vec<FieldViolation>) {
        self.violations
            .extend(violations.into_iter().map(|v| (kind, v)));
    }

    /// The document's own validation problems, each refused as invalid under `field`.
    fn invalid(&mut self, field: &'static str, validated: Result<(), crate::Invalid>) {
        if let Err(problems) = validated {
            for problem in problems.problems {
                self.refuse(RefusalKind::Invalid, field, problem);
            }
        }
    }

    fn finish(self) -> Result<(), Refusal> {
        let Some(kind) = self.violations.iter().map(|(kind, _)| *kind).max() else {
            return Ok(());
        };
        Err(Refusal {
            kind,
            violations: self.violations.into_iter().map(|(_, v)| v).collect(),
        })
    }

    /// The photos a change makes (see [`crate::photo`]).
    fn photos(
        &mut self,
        before: &[PhotoRef],
        after: &[PhotoRef],
        staff_id: i64,
        purposes: &[PhotoPurpose],
        facts: &PhotoFacts,
    ) {
        for (kind, reason) in review_photos(before, after, staff_id, purposes, facts) {
            self.refuse(kind, "photos", reason);
        }
    }

    /// A time recorded on a device: RFC 3339, not in the future, not long past.
    fn time(
        &mut self,
        field: &'static str,
        text: &str,
        (earliest, what): (DateTime<Utc>, &str),
        now: DateTime<Utc>,
    ) {
        match parse_time(field, text) {
            Err(problem) => self.refuse(RefusalKind::Invalid, field, problem),
            Ok(time) if time > now + CLOCK_SKEW => self.refuse(
                RefusalKind::Invalid,
                field,
                format!("{text} is in the future"),
            ),
            Ok(time) if time < earliest => self.refuse(
                RefusalKind::Invalid,
                field,
                format!("{text} is before {what} ({})", crate::format_time(earliest)),
            ),
            Ok(_) => {}
        }
    }
}

/// What the sheet's household is, as the actor's registry scope sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HouseholdFact {
    /// The household exists and the actor may work with it; these are its customers.
    InScope {
        household_id: i64,
        customers: Vec<i64>,
    },
    /// No such household, or not one the actor may see (the same answer, so existence does not
    /// leak).
    Unknown { household_id: i64 },
}

/// Whether `after` is new or names another household or customer than `before`: then the
/// household's facts are gathered and checked.
pub fn names_another_household(before: Option<&Sheet>, after: &Sheet) -> bool {
    before
        .is_none_or(|b| b.household_id != after.household_id || b.customer_id != after.customer_id)
}

/// What a sheet's review needs to know beyond the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetFacts {
    /// The reviewer's clock: the server's, or the phone's for its own edits.
    pub now: DateTime<Utc>,
    /// The household the changed sheet names, when it names one and it is new or changed.
    pub household: Option<HouseholdFact>,
    /// A customer has signed for this matter (D-SIG-1): its content is frozen.
    pub signed: bool,
    /// The blobs of the photos the change adds.
    pub photos: PhotoFacts,
}

/// Reviews a new sheet (`before` is `None`) or a change to one.
pub fn review_sheet(
    before: Option<&Sheet>,
    after: &Sheet,
    actor: &Actor,
    facts: &SheetFacts,
) -> Result<(), Refusal> {
    let mut verdict = Verdict::default();
    if let Some(before) = before
        && !before.status.can_become(after.status)
    {
        verdict.refuse(
            RefusalKind::Conflict,
            "status",
            format!(
                "the sheet is {}; it cannot become {}",
                before.status, after.status
            ),
        );
    }
    // The transition is checked above, with its own kind.
    let permitted = match before {
        Some(before) if !before.status.can_become(after.status) => {
            let mut same_status = after.clone();
            same_status.status = before.status;
            check_sheet_change(Some(before), &same_status, actor)
        }
        _ => check_sheet_change(before, after, actor),
    };
    if let Err(violations) = permitted {
        verdict.extend(RefusalKind::Forbidden, violations);
    }
    if let Actor::Staff(staff) = actor {
        review_sheet_facts(&mut verdict, before, after, facts);
        verdict.photos(
            before.map_or(&[][..], |b| &b.photos),
            &after.photos,
            staff.staff_id,
            &[PhotoPurpose::Reported],
            &facts.photos,
        );
    }
    verdict.invalid("sheet", after.validate());
    verdict.finish()
}

fn review_sheet_facts(
    verdict: &mut Verdict,
    before: Option<&Sheet>,
    after: &Sheet,
    facts: &SheetFacts,
) {
    let earliest = (
        facts.now - MAX_BACKDATE,
        "the earliest time a sheet accepts",
    );
    let changed = |field: fn(&Sheet) -> &str| before.is_none_or(|b| field(b) != field(after));
    if changed(|s| &s.accepted_at) {
        verdict.time("accepted_at", &after.accepted_at, earliest, facts.now);
    }
    if before.is_none() {
        verdict.time("created_at", &after.created_at, earliest, facts.now);
    }
    if let Some(handled_at) = &after.handled_at
        && before.is_none_or(|b| b.handled_at.as_ref() != Some(handled_at))
    {
        verdict.time("handled_at", handled_at, earliest, facts.now);
    }
    for note in &after.tracking {
        if before.is_none_or(|b| !b.tracking.contains(note)) {
            verdict.time("tracking", &note.at, earliest, facts.now);
        }
    }
    for photo in added_photos(before.map_or(&[][..], |b| &b.photos), &after.photos) {
        verdict.time("photos", &photo.taken_at, earliest, facts.now);
    }
    if names_another_household(before, after) {
        match (after.household_id, after.customer_id, &facts.household) {
            (None, None, _) => {}
            (None, Some(customer), _) => verdict.refuse(
                RefusalKind::Invalid,
                "customer_id",
                format!("customer {customer} is named without their household"),
            ),
            (
                Some(household),
                customer,
                Some(HouseholdFact::InScope {
                    household_id,
                    customers,
                }),
            ) if *household_id == household => {
                if let Some(customer) = customer
                    && !customers.contains(&customer)
                {
                    verdict.refuse(
                        RefusalKind::Invalid,
                        "customer_id",
                        format!("customer {customer} is not of household {household}"),
                    );
                }
            }
            (Some(household), _, _) => verdict.refuse(
                RefusalKind::Invalid,
                "household_id",
                format!("household {household} does not exist or is outside your scope"),
            ),
        }
    }
    if facts.signed
        && let Some(before) = before
    {
        for field in SIGNED_SHEET_FIELDS {
            let mut one = after.clone();
            crate::revert_sheet_fields(&mut one, before, &[field]);
            if one != *after {
                verdict.refuse(
                    RefusalKind::Forbidden,
                    field,
                    "the customer has signed for this matter; its content is frozen",
                );
            }
        }
    }
    if before.is_some_and(|b| b.status != SheetStatus::Handled)
        && after.status == SheetStatus::Handled
        && after.handled_at.is_none()
    {
        verdict.refuse(
            RefusalKind::Invalid,
            "handled_at",
            "is required to mark the sheet handled",
        );
    }
}

/// The strokes blob a signature names, as the reviewer finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobFact {
    /// No blob with that SHA-256 has been uploaded (completely).
    Missing,
    /// The blob is stored: who uploaded it, and whether another follow-up already refers to it.
    Stored {
        uploaded_by: i64,
        used_elsewhere: bool,
    },
}

/// The opinion survey's form a new answer sheet names, as the reviewer finds it.
#[derive(Debug, Clone, PartialEq)]
pub enum SurveyFormFact {
    /// No such form was sent to this follow-up's household.
    NotSent,
    /// The form sent to this follow-up: whether it still takes answers (distributed, not closed),
    /// the content hash the general manager approved (D-SUR-2) and its questions.
    Sent {
        taking_answers: bool,
        approved_sha256: String,
        content: SurveyContent,
    },
}

/// What a follow-up's review needs to know beyond the document.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpFacts {
    /// The reviewer's clock: the server's, or the phone's for its own edits.
    pub now: DateTime<Utc>,
    /// The sheet an information follow-up is about, as the reviewer has it.
    pub sheet: Option<Sheet>,
    /// The blob a new signature names (`None` when no signature is added).
    pub signature_blob: Option<BlobFact>,
    /// The form a new answer sheet names (`None` when no answers are added).
    pub survey_form: Option<SurveyFormFact>,
    /// The blobs of the photos the change adds.
    pub photos: PhotoFacts,
}

/// Reviews a change to a follow-up (follow-ups are created by the server's rules only).
pub fn review_follow_up(
    before: &FollowUp,
    after: &FollowUp,
    actor: &Actor,
    facts: &FollowUpFacts,
) -> Result<(), Refusal> {
    let mut verdict = Verdict::default();
    let transition_ok =
        before.status.can_become(after.status) && !(before.status.is_closed() && before != after);
    if !transition_ok {
        verdict.refuse(
            RefusalKind::Conflict,
            "status",
            format!(
                "the follow-up is {}; it cannot become {}",
                before.status, after.status
            ),
        );
    }
    // D-CB-3: after the last attempt the head decides; nobody adds attempts to a handed-over
    // follow-up (the head reassigns it first).
    if before.status == FollowUpStatus::Unreachable
        && after.unreachable_attempts.len() > before.unreachable_attempts.len()
    {
        verdict.refuse(
            RefusalKind::Conflict,
            "unreachable_attempts",
            format!(
                "the customer was tried {} times and the follow-up was handed to the unit head, \
                 who reassigns or closes it (D-CB-3); no further attempt is recorded",
                before.unreachable_attempts.len()
            ),
        );
    }
    // R-SUR-2: a household answers a form once; the answers stand as given.
    if let Some(given) = &before.survey_response
        && after.survey_response.as_ref() != Some(given)
    {
        verdict.refuse(
            RefusalKind::Conflict,
            "survey_response",
            "the household has answered the survey already; a form is answered once (R-SUR-2)",
        );
    }
    if let Err(violations) = check_follow_up_change(Some(before), after, actor) {
        let violations = if transition_ok {
            violations
        } else {
            violations
                .into_iter()
                .filter(|v| v.field != "status")
                .collect()
        };
        verdict.extend(RefusalKind::Forbidden, violations);
    }
    if let Actor::Staff(staff) = actor {
        review_follow_up_facts(&mut verdict, before, after, staff.staff_id, facts);
    }
    verdict.invalid("follow_up", after.validate());
    verdict.finish()
}

fn review_follow_up_facts(
    verdict: &mut Verdict,
    before: &FollowUp,
    after: &FollowUp,
    staff_id: i64,
    facts: &FollowUpFacts,
) {
    // D-CB-2: a time recorded on the phone counts only after the follow-up existed (with the
    // skew phones' clocks have) and not after it reached the reviewer.
    let existed = (
        parse_time("created_at", &before.created_at)
            .map(|t| t - CLOCK_SKEW)
            .unwrap_or(facts.now - MAX_BACKDATE),
        "the follow-up existed",
    );
    if after.status == FollowUpStatus::Completed
        && before.status != FollowUpStatus::Completed
        && after.kind == FollowUpKind::Survey
        && after.survey_response.is_none()
    {
        verdict.refuse(
            RefusalKind::Forbidden,
            "status",
            "an opinion survey is completed by the customer's answers to the form (R-SUR-1)",
        );
    }
    if let Some(response) = &after.survey_response
        && before.survey_response.is_none()
    {
        review_survey_response(verdict, after, response, staff_id, existed, facts);
    }
    if let Some(outcome) = &after.outcome
        && before.outcome.as_ref() != Some(outcome)
    {
        if outcome.recorded_by != staff_id {
            verdict.refuse(
                RefusalKind::Forbidden,
                "outcome.recorded_by",
                "an outcome is recorded by the person who records it (recorded_by is you)",
            );
        }
        verdict.time("outcome.done_at", &outcome.done_at, existed, facts.now);
        if outcome.method == FollowUpMethod::OnSiteSignature && !is_repair(facts) {
            verdict.refuse(
                RefusalKind::Invalid,
                "outcome.method",
                "an on-site signature confirms a repair; this follow-up is not about one (R-INF-8)",
            );
        }
    }
    for attempt in &after.unreachable_attempts {
        if before.unreachable_attempts.contains(attempt) {
            continue;
        }
        if attempt.by_staff_id != staff_id {
            verdict.refuse(
                RefusalKind::Forbidden,
                "unreachable_attempts",
                "an attempt is recorded by the person who made it",
            );
        }
        verdict.time("unreachable_attempts", &attempt.at, existed, facts.now);
    }
    if let Some(signature) = &after.signature
        && before.signature.is_none()
    {
        review_signature(verdict, after, signature, staff_id, existed, facts);
    }
    // Issue #18: a repair is photographed before and after; other follow-ups take no photos.
    let purposes: &[PhotoPurpose] = if is_repair(facts) {
        &[PhotoPurpose::Before, PhotoPurpose::After]
    } else {
        &[]
    };
    verdict.photos(
        &before.photos,
        &after.photos,
        staff_id,
        purposes,
        &facts.photos,
    );
    for photo in added_photos(&before.photos, &after.photos) {
        verdict.time("photos", &photo.taken_at, existed, facts.now);
    }
}

fn is_repair(facts: &FollowUpFacts) -> bool {
    facts.sheet.as_ref().is_some_and(|s| s.category.is_repair())
}

/// D-SIG-1: a signature names strokes this person uploaded for this follow-up, and binds the
/// hash of what was signed, which the reviewer computes itself.
fn review_signature(
    verdict: &mut Verdict,
    after: &FollowUp,
    signature: &SignatureRef,
    staff_id: i64,
    existed: (DateTime<Utc>, &str),
    facts: &FollowUpFacts,
) {
    if !crate::is_sha256_hex(&signature.blob_sha256)
        || !crate::is_sha256_hex(&signature.content_sha256)
    {
        verdict.refuse(
            RefusalKind::Invalid,
            "signature",
            "signature hashes must be 64 lowercase hex digits (SHA-256)",
        );
        return;
    }
    let name = signature.signer_name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        verdict.refuse(
            RefusalKind::Invalid,
            "signature",
            "signer_name must have 1 to 50 characters",
        );
    }
    verdict.time("signature", &signature.signed_at, existed, facts.now);
    if !is_repair(facts) {
        verdict.refuse(
            RefusalKind::Invalid,
            "signature",
            "a customer signs on site to confirm a repair; this follow-up is not about one (R-INF-8)",
        );
    }
    if after.outcome.is_none() {
        verdict.refuse(
            RefusalKind::Invalid,
            "signature",
            "a signature confirms an outcome; record the outcome with it",
        );
    }
    match &facts.signature_blob {
        None | Some(BlobFact::Missing) => verdict.refuse(
            RefusalKind::Invalid,
            "signature",
            format!(
                "no signature strokes {} were uploaded; upload them first",
                signature.blob_sha256
            ),
        ),
        Some(BlobFact::Stored { uploaded_by, .. }) if *uploaded_by != staff_id => verdict.refuse(
            RefusalKind::Forbidden,
            "signature",
            "the signature strokes were uploaded by someone else",
        ),
        Some(BlobFact::Stored {
            used_elsewhere: true,
            ..
        }) => verdict.refuse(
            RefusalKind::Forbidden,
            "signature",
            "these signature strokes already confirm another follow-up",
        ),
        Some(BlobFact::Stored { .. }) => {}
    }
    let expected = content_sha256(facts.sheet.as_ref(), after);
    if signature.content_sha256 != expected {
        verdict.refuse(
            RefusalKind::Invalid,
            "signature",
            "content_sha256 is not the hash of the signed content (the sheet and this outcome)",
        );
    }
}

/// R-SUR-2, D-SUR-1/2: a household's answer sheet answers the form sent to it, in the version the
/// general manager approved, while the form takes answers; it completes the survey follow-up and
/// is entered by the person who enters it.
fn review_survey_response(
    verdict: &mut Verdict,
    after: &FollowUp,
    response: &SurveyResponse,
    staff_id: i64,
    existed: (DateTime<Utc>, &str),
    facts: &FollowUpFacts,
) {
    const FIELD: &str = "survey_response";
    if after.kind != FollowUpKind::Survey {
        verdict.refuse(
            RefusalKind::Invalid,
            FIELD,
            format!("a {} follow-up has no survey answers", after.kind),
        );
        return;
    }
    if after.status != FollowUpStatus::Completed {
        verdict.refuse(
            RefusalKind::Invalid,
            FIELD,
            "the customer's answers complete the survey follow-up (status completed)",
        );
    }
    if response.entered_by != staff_id {
        verdict.refuse(
            RefusalKind::Forbidden,
            FIELD,
            "answers are entered by the person who enters them (entered_by is you)",
        );
    }
    verdict.time(
        "survey_response.answered_at",
        &response.answered_at,
        existed,
        facts.now,
    );
    let form = response.form_id;
    match &facts.survey_form {
        None | Some(SurveyFormFact::NotSent) => verdict.refuse(
            RefusalKind::Invalid,
            FIELD,
            format!("survey form {form} was not sent to this household"),
        ),
        Some(SurveyFormFact::Sent {
            taking_answers,
            approved_sha256,
            content,
        }) => {
            if !taking_answers {
                verdict.refuse(
                    RefusalKind::Conflict,
                    FIELD,
                    format!("survey form {form} was closed; answers are no longer taken"),
                );
            }
            if &response.form_sha256 != approved_sha256 {
                verdict.refuse(
                    RefusalKind::Invalid,
                    FIELD,
                    format!(
                        "the answers are to another version of form {form} ({}); the approved \
                         version is {approved_sha256} (D-SUR-2)",
                        response.form_sha256
                    ),
                );
            } else if let Err(problems) = content.check_answers(&response.answers) {
                for problem in problems {
                    verdict.refuse(
                        RefusalKind::Invalid,
                        FIELD,
                        format!("the answers do not fit the form: {problem}"),
                    );
                }
            }
        }
    }
}

/// Every problem with the photos a change makes, as (kind, reason): photos are only added, each
/// names a blob its taker uploaded, of the format it says, without a location unless kept;
/// `purposes` are those this document takes.
fn review_photos(
    before: &[PhotoRef],
    after: &[PhotoRef],
    staff_id: i64,
    purposes: &[PhotoPurpose],
    facts: &PhotoFacts,
) -> Vec<(crate::RefusalKind, String)> {
    use crate::RefusalKind::{Conflict, Forbidden, Invalid};
    let mut problems = Vec::new();
    for kept in before {
        if after.iter().find(|p| p.blob_sha256 == kept.blob_sha256) != Some(kept) {
            problems.push((
                Conflict,
                format!(
                    "photo {} was attached already; a photo is not removed or changed",
                    kept.blob_sha256
                ),
            ));
        }
    }
    for (n, photo) in after.iter().enumerate() {
        if after[..n]
            .iter()
            .any(|p| p.blob_sha256 == photo.blob_sha256)
        {
            problems.push((
                Conflict,
                format!("photo {} is attached already", photo.blob_sha256),
            ));
        }
    }
    if after.len() > MAX_PHOTOS {
        problems.push((
            Invalid,
            format!("a record carries at most {MAX_PHOTOS} photos"),
        ));
    }
    for photo in added_photos(before, after) {
        let name = &photo.blob_sha256;
        if !crate::is_sha256_hex(name) {
            problems.push((
                Invalid,
                "a photo is named by its SHA-256: 64 lowercase hex digits".into(),
            ));
            continue;
        }
        if !purposes.contains(&photo.purpose) {
            problems.push((
                Invalid,
                format!(
                    "a {} photo does not belong here (this record takes: {})",
                    photo.purpose,
                    purposes
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if photo.taken_by != staff_id {
            problems.push((
                Forbidden,
                "a photo is attached by the person who took it (taken_by is you)".into(),
            ));
        }
        if photo.caption.chars().count() > MAX_CAPTION {
            problems.push((
                Invalid,
                format!("a caption has at most {MAX_CAPTION} characters"),
            ));
        }
        match facts.blob(name) {
            None | Some(PhotoFact::Missing) => problems.push((
                Invalid,
                format!("photo {name} was not uploaded; upload it first"),
            )),
            Some(PhotoFact::Stored { uploaded_by, .. }) if *uploaded_by != staff_id => problems
                .push((
                    Forbidden,
                    format!("photo {name} was uploaded by someone else"),
                )),
            Some(PhotoFact::Stored { format: None, .. }) => problems.push((
                Invalid,
                format!("{name} is not a photo: JPEG, PNG or HEIC, judged by its content"),
            )),
            Some(PhotoFact::Stored {
                format: Some(format),
                ..
            }) if *format != photo.format => problems.push((
                Invalid,
                format!("photo {name} is a {format} file, not {}", photo.format),
            )),
            Some(PhotoFact::Stored {
                carries_location: true,
                ..
            }) if !facts.keep_location => problems.push((
                Invalid,
                format!(
                    "photo {name} says where it was taken; the company keeps no locations — \
                     attach it without (the app removes it)"
                ),
            )),
            Some(PhotoFact::Stored { .. }) => {}
        }
    }
    problems
}
