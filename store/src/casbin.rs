//! casbin policy lines, shaped for a casbin `Adapter` (load, add, remove, filtered remove,
//! replace). Tenants appear inside the rules as casbin domains.

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
    sea_query::OnConflict,
};

use crate::entity::casbin_rule;
use crate::{CasbinRule, Store, StoreError};

/// A policy line to write: `ptype` and up to six values (missing ones are empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCasbinRule {
    pub ptype: String,
    pub values: [String; 6],
}

impl NewCasbinRule {
    /// Values past the sixth are dropped (casbin's table has six).
    pub fn new(ptype: impl Into<String>, values: &[impl AsRef<str>]) -> Self {
        let mut out: [String; 6] = Default::default();
        for (slot, v) in out.iter_mut().zip(values) {
            *slot = v.as_ref().to_owned();
        }
        NewCasbinRule {
            ptype: ptype.into(),
            values: out,
        }
    }

    fn active(&self) -> casbin_rule::ActiveModel {
        let [v0, v1, v2, v3, v4, v5] = self.values.clone();
        casbin_rule::ActiveModel {
            ptype: Set(self.ptype.clone()),
            v0: Set(v0),
            v1: Set(v1),
            v2: Set(v2),
            v3: Set(v3),
            v4: Set(v4),
            v5: Set(v5),
            ..Default::default()
        }
    }

    fn matches(&self) -> Condition {
        let cols = value_columns();
        let mut cond = Condition::all().add(casbin_rule::Column::Ptype.eq(self.ptype.as_str()));
        for (col, v) in cols.into_iter().zip(&self.values) {
            cond = cond.add(col.eq(v.as_str()));
        }
        cond
    }
}

fn value_columns() -> [casbin_rule::Column; 6] {
    use casbin_rule::Column::*;
    [V0, V1, V2, V3, V4, V5]
}

impl Store {
    /// Every policy line, in insertion order.
    pub async fn casbin_rules(&self) -> Result<Vec<CasbinRule>, StoreError> {
        Ok(casbin_rule::Entity::find()
            .order_by_asc(casbin_rule::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Adds lines, ignoring ones already present; returns how many were new.
    pub async fn add_casbin_rules(&self, rules: &[NewCasbinRule]) -> Result<u64, StoreError> {
        let txn = self.db.begin().await?;
        let mut added = 0;
        for rule in rules {
            added += casbin_rule::Entity::insert(rule.active())
                .on_conflict(conflict_target())
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(added)
    }

    /// Removes exactly these lines; returns how many existed.
    pub async fn remove_casbin_rules(&self, rules: &[NewCasbinRule]) -> Result<u64, StoreError> {
        let txn = self.db.begin().await?;
        let mut removed = 0;
        for rule in rules {
            removed += casbin_rule::Entity::delete_many()
                .filter(rule.matches())
                .exec(&txn)
                .await?
                .rows_affected;
        }
        txn.commit().await?;
        Ok(removed)
    }

    /// casbin's `remove_filtered_policy`: lines of `ptype` whose values from `field_index` on
    /// equal `values`; an empty value matches anything.
    pub async fn remove_filtered_casbin_rules(
        &self,
        ptype: &str,
        field_index: usize,
        values: &[String],
    ) -> Result<u64, StoreError> {
        let cols = value_columns();
        let mut cond = Condition::all().add(casbin_rule::Column::Ptype.eq(ptype));
        for (offset, v) in values.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            let Some(col) = cols.get(field_index + offset) else {
                break;
            };
            cond = cond.add(col.eq(v.as_str()));
        }
        Ok(casbin_rule::Entity::delete_many()
            .filter(cond)
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    /// Replaces the whole policy set in one transaction (casbin's `save_policy`).
    pub async fn replace_casbin_rules(&self, rules: &[NewCasbinRule]) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        casbin_rule::Entity::delete_many().exec(&txn).await?;
        for rule in rules {
            casbin_rule::Entity::insert(rule.active())
                .on_conflict(conflict_target())
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

fn conflict_target() -> OnConflict {
    use casbin_rule::Column::*;
    OnConflict::columns([Ptype, V0, V1, V2, V3, V4, V5])
        .do_nothing()
        .to_owned()
}
