//! Destination tables: their names (from `table.name.format`) and what the
//! database says their columns are.

use std::fmt;

/// A table, optionally qualified by its schema (Postgres) or database (MySQL).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub schema: Option<String>,
    pub name: String,
}

impl TableId {
    /// The table a record of `topic` goes to: `${topic}` in `format` is
    /// replaced by the topic, and a dot separates schema and table, as the
    /// Java JDBC sink reads it.
    pub fn from_format(format: &str, topic: &str) -> Result<TableId, String> {
        let name = format.replace("${topic}", topic);
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            [table] if !table.is_empty() => Ok(TableId {
                schema: None,
                name: table.to_string(),
            }),
            [schema, table] if !schema.is_empty() && !table.is_empty() => Ok(TableId {
                schema: Some(schema.to_string()),
                name: table.to_string(),
            }),
            _ => Err(format!(
                "table name {name:?} (from table.name.format {format:?}) is not a table or schema.table name; \
                 rename the topic with a transform or set table.name.format"
            )),
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A column as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// The declared type, without length or precision (`bigint`,
    /// `character varying`, `jsonb`, `varchar` …).
    pub type_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableInfo {
    pub columns: Vec<ColumnInfo>,
}

impl TableInfo {
    /// Finds a column; `case_insensitive` for MySQL, whose column names are.
    pub fn column(&self, name: &str, case_insensitive: bool) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| {
            if case_insensitive {
                c.name.eq_ignore_ascii_case(name)
            } else {
                c.name == name
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_come_from_the_format() {
        assert_eq!(
            TableId::from_format("${topic}", "orders").unwrap(),
            TableId {
                schema: None,
                name: "orders".into()
            }
        );
        assert_eq!(
            TableId::from_format("kafka_${topic}", "orders")
                .unwrap()
                .to_string(),
            "kafka_orders"
        );
        let qualified = TableId::from_format("sales.${topic}", "orders").unwrap();
        assert_eq!(qualified.schema.as_deref(), Some("sales"));
        assert_eq!(qualified.to_string(), "sales.orders");
        // A topic with dots names a schema-qualified table, as in the Java sink.
        assert_eq!(
            TableId::from_format("${topic}", "shop.orders")
                .unwrap()
                .to_string(),
            "shop.orders"
        );
        let err = TableId::from_format("${topic}", "a.b.c").unwrap_err();
        assert!(err.contains("a.b.c"), "{err}");
    }
}
