//! Pieces every migration shares: the tenant foreign key and index helpers.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub enum Tenants {
    Table,
    Id,
}

/// `tenant_id` referencing `tenants(id)`, deleted with its tenant.
pub fn tenant_fk(table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_tenant"))
        .from(Alias::new(table), Alias::new("tenant_id"))
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A (possibly unique) index named `name` on `table(cols...)`.
pub fn index(
    name: &str,
    table: impl IntoIden + 'static,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}
