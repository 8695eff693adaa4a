//! Households with their customers: one row per customer, keyed by community, building, room and
//! name; communities and buildings are created as they are named.

use std::collections::HashMap;

use huifang_protocol::{PhoneNumber, Role};
use huifang_store::db::Database;
use huifang_store::db::Tx;
use huifang_store::imports as stored;

use super::csv::{Column, Outcome, check_all, decode_text, read_table, report};
use super::{ImportError, ImportReport};
use crate::auth::normalise_username;

// ---------------------------------------------------------------------------------------------
// Households

/// One household row: a customer of a household, the household's place, and optionally the
/// consultant who owns the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdRow {
    pub line: u64,
    pub community: String,
    pub community_address: Option<String>,
    pub building: String,
    pub room: String,
    pub address: String,
    pub customer: String,
    pub phone: PhoneNumber,
    /// Username of the owning property consultant.
    pub consultant: Option<String>,
}

pub(crate) const HOUSEHOLD_COLUMNS: &[Column] = &[
    Column {
        field: "community",
        headers: &["community", "小区", "小区名称"],
        required: true,
    },
    Column {
        field: "community_address",
        headers: &["community_address", "小区地址"],
        required: false,
    },
    Column {
        field: "building",
        headers: &["building", "楼栋", "楼号", "栋号"],
        required: true,
    },
    Column {
        field: "room",
        headers: &["room", "房号", "房间号"],
        required: true,
    },
    Column {
        field: "customer",
        headers: &["customer", "customer_name", "客户姓名", "业主姓名", "姓名"],
        required: true,
    },
    Column {
        field: "phone",
        headers: &["phone", "联系电话", "电话", "手机"],
        required: true,
    },
    Column {
        field: "address",
        headers: &["address", "客户地址", "地址"],
        required: false,
    },
    Column {
        field: "consultant",
        headers: &["consultant", "置业顾问"],
        required: false,
    },
];

/// Parses and checks a households file (no database access).
pub fn parse_households(bytes: &[u8]) -> Result<Vec<HouseholdRow>, ImportError> {
    let text = decode_text(bytes)?;
    let table = read_table(&text, HOUSEHOLD_COLUMNS)?;
    let rows = check_all(table, |r| {
        let community = r.required("community")?.to_owned();
        let building = r.required("building")?.to_owned();
        let room = r.required("room")?.to_owned();
        let phone = PhoneNumber::parse(r.required("phone")?).map_err(|e| e.to_string())?;
        Ok(HouseholdRow {
            line: r.line,
            address: r
                .optional("address")?
                .map_or_else(|| format!("{community}{building}{room}"), str::to_owned),
            community_address: r.optional("community_address")?.map(str::to_owned),
            customer: r.required("customer")?.to_owned(),
            consultant: r.optional("consultant")?.map(normalise_username),
            community,
            building,
            room,
            phone,
        })
    })?;
    check_households_agree(&rows)?;
    Ok(rows)
}

/// Rows that name the same household or customer must not contradict each other.
pub(crate) fn check_households_agree(rows: &[HouseholdRow]) -> Result<(), ImportError> {
    let mut problems = Vec::new();
    let mut households: HashMap<(&str, &str, &str), &HouseholdRow> = HashMap::new();
    let mut customers: HashMap<(&str, &str, &str, &str), &HouseholdRow> = HashMap::new();
    let mut communities: HashMap<&str, &HouseholdRow> = HashMap::new();
    for row in rows {
        if let Some(address) = &row.community_address {
            match communities.get(row.community.as_str()) {
                Some(first) if first.community_address.as_ref() != Some(address) => {
                    problems.push(format!(
                        "line {}: community {:?} has another address on line {}",
                        row.line, row.community, first.line
                    ))
                }
                Some(_) => {}
                None => {
                    communities.insert(&row.community, row);
                }
            }
        }
        let household = (
            row.community.as_str(),
            row.building.as_str(),
            row.room.as_str(),
        );
        match households.get(&household) {
            Some(first) if first.address != row.address => problems.push(format!(
                "line {}: household {}{}{} has another address on line {}",
                row.line, row.community, row.building, row.room, first.line
            )),
            Some(_) => {}
            None => {
                households.insert(household, row);
            }
        }
        let customer = (household.0, household.1, household.2, row.customer.as_str());
        match customers.get(&customer) {
            Some(first) if first.phone != row.phone || first.consultant != row.consultant => {
                problems.push(format!(
                    "line {}: customer {} of {}{}{} is also on line {} with another phone or consultant",
                    row.line, row.customer, row.community, row.building, row.room, first.line
                ));
            }
            Some(_) => {}
            None => {
                customers.insert(customer, row);
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Rows(problems))
    }
}

/// Upserts checked household rows in one transaction.
pub async fn apply_households(
    db: &Database,
    rows: &[HouseholdRow],
    dry_run: bool,
) -> Result<ImportReport, ImportError> {
    let now = db.now_text();
    let mut tx = db.begin().await?;

    // Consultants must exist and be consultants before anything is written.
    let mut consultants: HashMap<&str, i64> = HashMap::new();
    let mut problems = Vec::new();
    for row in rows {
        let Some(username) = row.consultant.as_deref() else {
            continue;
        };
        if consultants.contains_key(username) {
            continue;
        }
        match stored::staff(&mut tx, username).await? {
            Some(staff) if staff.role == Role::Consultant => {
                consultants.insert(username, staff.id);
            }
            Some(_) => problems.push(format!(
                "line {}: staff {username:?} is not a property consultant",
                row.line
            )),
            None => problems.push(format!(
                "line {}: consultant {username:?} does not exist; import staff first",
                row.line
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rows(problems));
    }

    let mut outcomes = vec![Outcome::Unchanged; rows.len()];
    let mut community_ids: HashMap<&str, i64> = HashMap::new();
    let mut building_ids: HashMap<(i64, &str), i64> = HashMap::new();
    // Existing households and customers of each community touched, loaded once.
    let mut households: HashMap<(i64, String), (i64, String)> = HashMap::new();
    let mut customers: HashMap<(i64, String), (i64, String)> = HashMap::new();
    let mut owners: HashMap<i64, i64> = HashMap::new();

    for (index, row) in rows.iter().enumerate() {
        let mut outcome = Outcome::Unchanged;
        let community_id = match community_ids.get(row.community.as_str()) {
            Some(id) => *id,
            None => {
                let id = match stored::community(&mut tx, &row.community).await? {
                    Some((id, address)) => {
                        if let Some(new_address) =
                            row.community_address.as_ref().filter(|a| **a != address)
                        {
                            stored::set_community_address(&mut tx, id, new_address, &now).await?;
                            outcome = outcome.max(Outcome::Updated);
                        }
                        id
                    }
                    None => {
                        stored::insert_community(
                            &mut tx,
                            &row.community,
                            row.community_address.as_deref().unwrap_or_default(),
                            &now,
                        )
                        .await?
                    }
                };
                load_community(&mut tx, id, &mut households, &mut customers, &mut owners).await?;
                community_ids.insert(&row.community, id);
                id
            }
        };

        let building_id = match building_ids.get(&(community_id, row.building.as_str())) {
            Some(id) => *id,
            None => {
                let id = stored::building(&mut tx, community_id, &row.building, &now).await?;
                building_ids.insert((community_id, &row.building), id);
                id
            }
        };

        let household_id = match households.get(&(building_id, row.room.clone())) {
            Some((id, address)) if *address == row.address => *id,
            Some((id, _)) => {
                let id = *id;
                stored::set_household_address(&mut tx, id, &row.address, &now).await?;
                households.insert((building_id, row.room.clone()), (id, row.address.clone()));
                outcome = outcome.max(Outcome::Updated);
                id
            }
            None => {
                let id = stored::insert_household(
                    &mut tx,
                    community_id,
                    building_id,
                    &row.room,
                    &row.address,
                    &now,
                )
                .await?;
                households.insert((building_id, row.room.clone()), (id, row.address.clone()));
                id
            }
        };

        let phone = row.phone.as_str();
        let customer_id = match customers.get(&(household_id, row.customer.clone())) {
            Some((id, stored)) if stored == phone => *id,
            Some((id, _)) => {
                let id = *id;
                stored::set_customer_phone(&mut tx, id, phone, &now).await?;
                customers.insert((household_id, row.customer.clone()), (id, phone.to_owned()));
                outcome = outcome.max(Outcome::Updated);
                id
            }
            None => {
                let id = stored::insert_customer(&mut tx, household_id, &row.customer, phone, &now)
                    .await?;
                customers.insert((household_id, row.customer.clone()), (id, phone.to_owned()));
                outcome = Outcome::Created;
                id
            }
        };

        if let Some(consultant_id) = row.consultant.as_deref().and_then(|u| consultants.get(u))
            && owners.get(&customer_id) != Some(consultant_id)
        {
            stored::set_owner(&mut tx, customer_id, *consultant_id, &now).await?;
            owners.insert(customer_id, *consultant_id);
            outcome = outcome.max(Outcome::Updated);
        }
        outcomes[index] = outcome;
    }
    stored::finish(db, tx, dry_run).await?;
    Ok(report("households", &outcomes, dry_run))
}

/// Loads a community's households, customers and consultant ownership into the lookup maps.
async fn load_community(
    tx: &mut Tx,
    community_id: i64,
    households: &mut HashMap<(i64, String), (i64, String)>,
    customers: &mut HashMap<(i64, String), (i64, String)>,
    owners: &mut HashMap<i64, i64>,
) -> Result<(), ImportError> {
    let contents = stored::community_contents(tx, community_id).await?;
    for (id, building, room, address) in contents.households {
        households.insert((building, room), (id, address));
    }
    for (id, household, name, phone, consultant) in contents.customers {
        customers.insert((household, name), (id, phone));
        if let Some(consultant) = consultant {
            owners.insert(id, consultant);
        }
    }
    Ok(())
}
