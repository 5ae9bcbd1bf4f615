//! `module_tools`: the tools each module release provides, with the release's
//! latest decision, as the module catalog announced them.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::schema::module_tools;

/// The decisions under which a release's tools may be called.
pub const OFFERED: [&str; 2] = ["APPROVED", "DEPRECATED"];

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = module_tools)]
pub struct ModuleToolRow {
    pub module_id: String,
    pub version: String,
    pub tool_id: String,
    pub action_class: String,
    pub status: String,
    pub decided_at: OffsetDateTime,
}

/// Records a release's decision with its tools, replacing what was recorded for
/// it; a decision older than the recorded one changes nothing (`Ok(false)`).
pub async fn release_decided_on_conn(
    conn: &mut AsyncPgConnection,
    module_id: &str,
    version: &str,
    decided_at: OffsetDateTime,
    rows: &[ModuleToolRow],
) -> QueryResult<bool> {
    let of_release = module_tools::table
        .filter(module_tools::module_id.eq(module_id))
        .filter(module_tools::version.eq(version));
    let newer: i64 = of_release
        .filter(module_tools::decided_at.gt(decided_at))
        .count()
        .get_result(conn)
        .await?;
    if newer > 0 {
        return Ok(false);
    }
    diesel::delete(of_release).execute(conn).await?;
    diesel::insert_into(module_tools::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(true)
}

/// The ids of the tools packs and playbooks may call now.
pub async fn offered_on_conn(conn: &mut AsyncPgConnection) -> QueryResult<BTreeSet<String>> {
    let ids: Vec<String> = module_tools::table
        .filter(module_tools::status.eq_any(OFFERED))
        .select(module_tools::tool_id)
        .distinct()
        .load(conn)
        .await?;
    Ok(ids.into_iter().collect())
}

/// Every recorded tool of every release, by tool, module and version.
pub async fn tool_list_on_conn(conn: &mut AsyncPgConnection) -> QueryResult<Vec<ModuleToolRow>> {
    module_tools::table
        .order((
            module_tools::tool_id,
            module_tools::module_id,
            module_tools::version,
        ))
        .select(ModuleToolRow::as_select())
        .load(conn)
        .await
}
