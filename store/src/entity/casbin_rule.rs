use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One casbin policy line in casbin's usual table shape; unused fields are empty strings.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "casbin_rule")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ptype: String,
    pub v0: String,
    pub v1: String,
    pub v2: String,
    pub v3: String,
    pub v4: String,
    pub v5: String,
}

impl Model {
    /// The rule's values without the trailing empty fields, as a casbin adapter loads them.
    pub fn values(&self) -> Vec<String> {
        let mut values = vec![
            self.v0.clone(),
            self.v1.clone(),
            self.v2.clone(),
            self.v3.clone(),
            self.v4.clone(),
            self.v5.clone(),
        ];
        while values.last().is_some_and(String::is_empty) {
            values.pop();
        }
        values
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
