//! `FieldStore`: the one object the apps hold. Each method is a client-core call, guarded so
//! that nothing unwinds into the app; none holds business logic of its own.

use std::sync::{Arc, RwLock};

use huifang_client::{
    BadgeCounts, BuildingTasks, ClientError, ClientStore, HouseholdHistory, HttpTransport,
    NewSheet, OutcomeInput, PhotoInput, RefusedChange, SearchResults, SheetRow, SignatureCheck,
    SignatureInput, StoreKey, SyncProgress, SyncReport, Task,
};
use huifang_protocol::{FollowUpMethod, PhotoRef, Ratings, SurveyAnswer, SurveyFormRow};

use crate::error::{MobileError, guarded};
use crate::records::SignedIn;

/// A new random store key (32 bytes) for a new store, from the operating system's random source.
/// The app keeps it in Android Keystore or the iOS Keychain and gives it to [`FieldStore::open`].
#[uniffi::export]
pub fn generate_store_key() -> Vec<u8> {
    StoreKey::generate().as_bytes().to_vec()
}

/// Told of a long sync's progress, page by page (a first sync of thousands of documents).
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

/// Told when new work for this staff member reached the server: the app then syncs.
#[uniffi::export(with_foreign)]
pub trait WorkObserver: Send + Sync {
    /// Return `false` to stop listening.
    fn on_work_arrived(&self) -> bool;
}

/// The phone's store of follow-ups and sheets, and its connection to the server. Safe to call
/// from several threads; every call blocks, so call it off the UI thread.
#[derive(uniffi::Object)]
pub struct FieldStore {
    store: ClientStore,
    /// PEM certificates of the company's own certificate authority, if its server uses one.
    extra_roots_pem: Option<String>,
    transport: RwLock<Option<Arc<HttpTransport>>>,
}

impl FieldStore {
    /// The transport to the signed-in server, made on first use.
    fn transport(&self) -> Result<Arc<HttpTransport>, ClientError> {
        let session = self.store.session()?.ok_or(ClientError::NotSignedIn)?;
        if let Ok(current) = self.transport.read()
            && let Some(transport) = current.as_ref()
            && transport.server_url() == session.server_url
        {
            return Ok(transport.clone());
        }
        let transport = Arc::new(self.connect(&session.server_url)?);
        if let Ok(mut slot) = self.transport.write() {
            *slot = Some(transport.clone());
        }
        Ok(transport)
    }

    fn connect(&self, server_url: &str) -> Result<HttpTransport, ClientError> {
        let pem = self.extra_roots_pem.as_deref().unwrap_or_default();
        HttpTransport::with_root_certificates(server_url, pem.as_bytes())
    }
}

#[uniffi::export]
impl FieldStore {
    /// Opens (or creates) the store at `path` in the app's private storage, encrypted under
    /// `key` (32 bytes the app keeps in Android Keystore or the iOS Keychain; see
    /// [`generate_store_key`]). A key that does not open the store is `MobileError.WrongKey`.
    /// `app_version`: the app's version (dotted numbers, `2.3.0`), reported with each sync; the
    /// company may require a newer one (`MobileError.UpdateRequired`).
    /// `extra_root_certificates_pem`: the company's CA certificate(s), if its server's
    /// certificate is not from a public authority.
    #[uniffi::constructor]
    pub fn open(
        path: String,
        key: Vec<u8>,
        app_version: String,
        extra_root_certificates_pem: Option<String>,
    ) -> Result<Arc<Self>, MobileError> {
        let key = zeroize::Zeroizing::new(key);
        guarded(|| {
            let key = StoreKey::from_bytes(&key)?;
            Ok(Arc::new(FieldStore {
                store: ClientStore::open(&path, &key)?.with_app_version(&app_version)?,
                extra_roots_pem: extra_root_certificates_pem.filter(|pem| !pem.trim().is_empty()),
                transport: RwLock::new(None),
            }))
        })
    }

    /// Encrypts the store under `new_key`. Keep the new key beside the old one until this
    /// returns; if the app dies meanwhile, the store opens with one of the two.
    pub fn rekey(&self, new_key: Vec<u8>) -> Result<(), MobileError> {
        let new_key = zeroize::Zeroizing::new(new_key);
        guarded(|| self.store.rekey(&StoreKey::from_bytes(&new_key)?))
    }

    /// Signs in with a username and password. Another staff member's data on this phone is
    /// wiped first, which is refused while their changes have not reached the server.
    pub fn log_in(
        &self,
        server_url: String,
        username: String,
        password: String,
        device_name: String,
    ) -> Result<SignedIn, MobileError> {
        guarded(|| {
            let transport = Arc::new(self.connect(&server_url)?);
            let session = self
                .store
                .log_in(&transport, &username, &password, &device_name)?;
            if let Ok(mut slot) = self.transport.write() {
                *slot = Some(transport);
            }
            Ok(session.into())
        })
    }

    /// Who is signed in, if anyone.
    pub fn signed_in(&self) -> Result<Option<SignedIn>, MobileError> {
        guarded(|| Ok(self.store.session()?.map(SignedIn::from)))
    }

    /// Signs out and wipes this staff member's data; refused while changes are unsynced unless
    /// `discard_unsynced`.
    pub fn sign_out(&self, discard_unsynced: bool) -> Result<(), MobileError> {
        guarded(|| self.store.sign_out(discard_unsynced))
    }

    /// Sends this phone's changes and receives what is new, in pages.
    pub fn sync_now(
        &self,
        observer: Option<Arc<dyn SyncObserver>>,
    ) -> Result<SyncReport, MobileError> {
        guarded(|| {
            let transport = self.transport()?;
            match observer {
                Some(observer) => self
                    .store
                    .sync_with_progress(transport.as_ref(), &|progress| {
                        observer.on_progress(progress)
                    }),
                None => self.store.sync_now(transport.as_ref()),
            }
        })
    }

    /// Holds the server's live channel open, calling `observer` when new work arrives. Returns
    /// when the observer says stop or the connection ends; call it again (after a sync) from a
    /// background thread to keep listening.
    pub fn listen_for_work(&self, observer: Arc<dyn WorkObserver>) -> Result<(), MobileError> {
        guarded(|| {
            let transport = self.transport()?;
            self.store
                .listen_for_work(&transport, &|| observer.on_work_arrived())
        })
    }

    /// Open follow-ups due today (company time) or overdue, most urgent first.
    pub fn tasks_due(&self) -> Result<Vec<Task>, MobileError> {
        guarded(|| self.store.tasks_due(self.store.now()))
    }

    /// Open follow-ups grouped by building, for a round of visits.
    pub fn tasks_by_building(&self) -> Result<Vec<BuildingTasks>, MobileError> {
        guarded(|| self.store.tasks_by_building(self.store.now()))
    }

    pub fn task(&self, follow_up_id: String) -> Result<Task, MobileError> {
        guarded(|| self.store.task(&follow_up_id))
    }

    pub fn sheet(&self, sheet_id: String) -> Result<SheetRow, MobileError> {
        guarded(|| self.store.sheet_row(&sheet_id))
    }

    pub fn household_history(&self, household_id: i64) -> Result<HouseholdHistory, MobileError> {
        guarded(|| self.store.household_history(household_id))
    }

    pub fn search(&self, text: String) -> Result<SearchResults, MobileError> {
        guarded(|| self.store.search(&text))
    }

    /// Changes the server refused (newest first), so the person who typed them is told.
    pub fn refused_changes(&self) -> Result<Vec<RefusedChange>, MobileError> {
        guarded(|| self.store.refused_changes())
    }

    pub fn badge_counts(&self) -> Result<BadgeCounts, MobileError> {
        guarded(|| self.store.badge_counts(self.store.now()))
    }

    /// Accepts a new information sheet on the phone (it gets its number on the server).
    pub fn accept_sheet(&self, input: NewSheet) -> Result<SheetRow, MobileError> {
        guarded(|| {
            let sheet = self.store.accept_sheet(input)?;
            self.store.sheet_row(&sheet.id)
        })
    }

    pub fn add_tracking_note(
        &self,
        sheet_id: String,
        note: String,
    ) -> Result<SheetRow, MobileError> {
        guarded(|| {
            self.store.add_tracking_note(&sheet_id, note)?;
            self.store.sheet_row(&sheet_id)
        })
    }

    /// Records what the customer said; works offline, judged on the time it was done.
    pub fn record_outcome(
        &self,
        follow_up_id: String,
        input: OutcomeInput,
    ) -> Result<Task, MobileError> {
        guarded(|| {
            self.store.record_outcome(&follow_up_id, input)?;
            self.store.task(&follow_up_id)
        })
    }

    /// Attaches a photo to a sheet or a repair's follow-up, offline: its location is removed;
    /// it is uploaded at the next sync, before the change that names it.
    pub fn attach_photo(
        &self,
        document_id: String,
        photo: PhotoInput,
    ) -> Result<PhotoRef, MobileError> {
        guarded(|| self.store.attach_photo(&document_id, photo))
    }

    /// A photo's bytes: this phone's copy, or one taken on another phone, downloaded from the
    /// server once (so the first look at it needs a connection) and kept.
    pub fn photo(&self, blob_sha256: String) -> Result<Vec<u8>, MobileError> {
        guarded(|| match self.store.photo(&blob_sha256) {
            Err(ClientError::NotFound { .. }) => self
                .store
                .fetch_photo(self.transport()?.as_ref(), &blob_sha256),
            held => held,
        })
    }

    /// The opinion survey form a survey follow-up asks its household, to show offline.
    pub fn survey_form(&self, follow_up_id: String) -> Result<SurveyFormRow, MobileError> {
        guarded(|| self.store.survey_form(&follow_up_id))
    }

    /// Records the household's answers to the survey during a visit, offline (R-SUR-2): checked
    /// against the form as the server checks them; they complete the survey follow-up.
    pub fn answer_survey(
        &self,
        follow_up_id: String,
        answers: Vec<SurveyAnswer>,
    ) -> Result<Task, MobileError> {
        guarded(|| {
            self.store.answer_survey(&follow_up_id, answers)?;
            self.store.task(&follow_up_id)
        })
    }

    /// Records a failed attempt to reach the customer (the third marks it unreachable).
    pub fn record_unreachable(
        &self,
        follow_up_id: String,
        method: FollowUpMethod,
        note: String,
    ) -> Result<Task, MobileError> {
        guarded(|| {
            self.store.record_unreachable(&follow_up_id, method, note)?;
            self.store.task(&follow_up_id)
        })
    }

    /// The customer signs on the phone to confirm the repair (R-INF-8).
    pub fn complete_with_signature(
        &self,
        follow_up_id: String,
        signature: SignatureInput,
        ratings: Ratings,
        opinions: String,
    ) -> Result<Task, MobileError> {
        guarded(|| {
            self.store
                .complete_with_signature(&follow_up_id, signature, ratings, opinions)?;
            self.store.task(&follow_up_id)
        })
    }

    /// Whether a signed follow-up still matches what the customer signed.
    pub fn verify_signature(&self, follow_up_id: String) -> Result<SignatureCheck, MobileError> {
        guarded(|| self.store.verify_signature(&follow_up_id))
    }

    pub fn signature_svg(&self, blob_sha256: String) -> Result<String, MobileError> {
        guarded(|| self.store.signature_svg(&blob_sha256))
    }

    pub fn signature_png(&self, blob_sha256: String, width: u32) -> Result<Vec<u8>, MobileError> {
        guarded(|| self.store.signature_png(&blob_sha256, width))
    }
}
