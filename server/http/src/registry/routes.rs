//! `/api/v1` routes of the registry: lists and details within the caller's scope, account
//! creation and imports for administrators.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use huifang_protocol::{
    Building, Community, DEFAULT_PAGE_SIZE, Household, MAX_PAGE_SIZE, Page, PhoneNumber, Role,
    StaffMember, Unit, UnitKind,
};
use serde::Deserialize;

use super::store::{HouseholdFilter, NewStaff, PageRequest, StaffFilter};
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use huifang_core::auth::{check_new_password, hash_password};
use huifang_core::auth::{check_username, normalise_username};
use huifang_core::imports::{self as import, ImportKind, ImportReport};

/// The largest import file accepted over HTTP.
pub const IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/units", get(list_units))
        .route("/units/{id}", get(get_unit))
        .route("/communities", get(list_communities))
        .route("/communities/{id}", get(get_community))
        .route("/communities/{id}/buildings", get(list_buildings))
        .route("/households", get(list_households))
        .route("/households/{id}", get(get_household))
        .route("/staff", get(list_staff).post(create_staff))
        .route("/staff/{id}", get(get_staff))
        .route("/staff/{id}/active", post(set_staff_active))
        .route(
            "/import/{kind}",
            post(import_file).layer(axum::extract::DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        )
}

/// Checks a list request's `limit` (1–500, default 50) and `offset`.
pub fn page_request(limit: Option<u32>, offset: Option<u64>) -> AppResult<PageRequest> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(AppError::invalid(format!(
            "limit must be between 1 and {MAX_PAGE_SIZE}"
        )));
    }
    let offset = offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        return Err(AppError::invalid(format!(
            "offset must be at most {MAX_OFFSET}"
        )));
    }
    Ok(PageRequest { limit, offset })
}

/// The largest `offset` a list takes (it is bound as a signed 64-bit integer; no list is that long).
const MAX_OFFSET: u64 = 1_000_000_000;

/// A search text: trimmed, empty means none, at most 100 characters.
pub fn search_text(q: Option<String>) -> AppResult<Option<String>> {
    let q = q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(AppError::invalid("q must have at most 100 characters"));
    }
    Ok(q)
}

fn not_found(what: &str, id: i64) -> AppError {
    AppError::NotFound(format!(
        "{what} {id} does not exist or is outside your scope"
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitQuery {
    kind: Option<UnitKind>,
    parent_id: Option<i64>,
    community_id: Option<i64>,
}

/// The organisation chart is visible to every signed-in staff member: work is routed across it.
#[tracing::instrument(skip(state, _caller))]
async fn list_units(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<UnitQuery>,
) -> AppResult<Json<Vec<Unit>>> {
    Ok(Json(
        state
            .registry()
            .list_units(query.kind, query.parent_id, query.community_id)
            .await?,
    ))
}

#[tracing::instrument(skip(state, _caller))]
async fn get_unit(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<Unit>> {
    state
        .registry()
        .get_unit(id)
        .await?
        .map(Json)
        .ok_or_else(|| not_found("unit", id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommunityQuery {
    q: Option<String>,
}

#[tracing::instrument(skip(state, _caller))]
async fn list_communities(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<CommunityQuery>,
) -> AppResult<Json<Vec<Community>>> {
    let q = search_text(query.q)?;
    Ok(Json(state.registry().list_communities(q.as_deref()).await?))
}

#[tracing::instrument(skip(state, _caller))]
async fn get_community(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<Community>> {
    let all = state.registry().list_communities(None).await?;
    all.into_iter()
        .find(|c| c.id == id)
        .map(Json)
        .ok_or_else(|| not_found("community", id))
}

#[tracing::instrument(skip(state, _caller))]
async fn list_buildings(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<Building>>> {
    let buildings = state.registry().list_buildings(id).await?;
    if buildings.is_empty()
        && !state
            .registry()
            .list_communities(None)
            .await?
            .iter()
            .any(|c| c.id == id)
    {
        return Err(not_found("community", id));
    }
    Ok(Json(buildings))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HouseholdQuery {
    community_id: Option<i64>,
    building_id: Option<i64>,
    consultant_id: Option<i64>,
    q: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn list_households(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<HouseholdQuery>,
) -> AppResult<Json<Page<Household>>> {
    let page = page_request(query.limit, query.offset)?;
    let filter = HouseholdFilter {
        community_id: query.community_id,
        building_id: query.building_id,
        consultant_id: query.consultant_id,
        text: search_text(query.q)?,
    };
    let households = state
        .registry()
        .list_households(
            caller.household_scope(),
            &filter,
            page,
            caller.sees_customer_phones(),
        )
        .await?;
    Ok(Json(households))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn get_household(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<Household>> {
    state
        .registry()
        .get_household(caller.household_scope(), id, caller.sees_customer_phones())
        .await?
        .map(Json)
        .ok_or_else(|| not_found("household", id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffQuery {
    unit_id: Option<i64>,
    role: Option<Role>,
    q: Option<String>,
    #[serde(default)]
    include_inactive: bool,
    limit: Option<u32>,
    offset: Option<u64>,
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn list_staff(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<StaffQuery>,
) -> AppResult<Json<Page<StaffMember>>> {
    let page = page_request(query.limit, query.offset)?;
    let filter = StaffFilter {
        unit_id: query.unit_id,
        role: query.role,
        text: search_text(query.q)?,
        include_inactive: query.include_inactive,
    };
    Ok(Json(
        state
            .registry()
            .list_staff(caller.staff_scope(), &filter, page)
            .await?,
    ))
}

#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn get_staff(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Json<StaffMember>> {
    state
        .registry()
        .get_staff(caller.staff_scope(), id)
        .await?
        .map(Json)
        .ok_or_else(|| not_found("staff member", id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateStaff {
    username: String,
    name: String,
    role: Role,
    unit_id: Option<i64>,
    phone: Option<String>,
    password: String,
}

#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn create_staff(
    State(state): State<AppState>,
    crate::auth::Administrator(caller): crate::auth::Administrator,
    ApiJson(body): ApiJson<CreateStaff>,
) -> AppResult<(StatusCode, Json<StaffMember>)> {
    let username = normalise_username(&body.username);
    check_username(&username).map_err(AppError::invalid)?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid("name must have 1–100 characters"));
    }
    check_new_password(&body.password).map_err(AppError::invalid)?;
    let phone = body
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(PhoneNumber::parse)
        .transpose()
        .map_err(|e| AppError::invalid(e.to_string()))?;
    let password_hash = hash_password(body.password).await?;
    let staff = state
        .registry()
        .create_staff(NewStaff {
            username,
            name,
            phone,
            role: body.role,
            unit_id: body.unit_id,
            password_hash: Some(password_hash),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(staff)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetActive {
    active: bool,
}

/// Deactivating an account also revokes its sessions, so a departed staff member's phone stops
/// syncing at once.
#[tracing::instrument(skip(state, caller), fields(caller = caller.staff_id))]
async fn set_staff_active(
    State(state): State<AppState>,
    crate::auth::Administrator(caller): crate::auth::Administrator,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<SetActive>,
) -> AppResult<Json<StaffMember>> {
    if id == caller.staff_id && !body.active {
        return Err(AppError::invalid("you cannot deactivate your own account"));
    }
    let registry = state.registry();
    if registry
        .get_staff(caller.staff_scope(), id)
        .await?
        .is_none()
    {
        return Err(not_found("staff member", id));
    }
    registry.set_active(id, body.active).await?;
    if !body.active {
        state.sessions().revoke_all_of(id).await?;
    }
    registry
        .get_staff(caller.staff_scope(), id)
        .await?
        .map(Json)
        .ok_or_else(|| not_found("staff member", id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    #[serde(default)]
    dry_run: bool,
}

/// Imports a CSV file sent as the request body (any content type: Excel users send what they have).
#[tracing::instrument(skip(state, caller, body), fields(caller = caller.staff_id))]
async fn import_file(
    State(state): State<AppState>,
    crate::auth::Administrator(caller): crate::auth::Administrator,
    Path(kind): Path<String>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> AppResult<Json<ImportReport>> {
    let kind = ImportKind::parse(&kind).ok_or_else(|| {
        AppError::NotFound(format!(
            "unknown import {kind:?}; expected households, units or staff"
        ))
    })?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge {
                limit: IMPORT_BODY_LIMIT,
            }
        } else {
            AppError::BadRequest(e.body_text())
        }
    })?;
    if body.is_empty() {
        return Err(AppError::invalid(
            "the request body is empty; send the CSV file as the body",
        ));
    }
    let report = import::import(state.db(), kind, &body, query.dry_run).await?;
    tracing::info!(?report, "import done");
    Ok(Json(report))
}
