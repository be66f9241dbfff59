//! What differs between MySQL/MariaDB and Postgres: identifier quoting,
//! column types, parameter placeholders, and the SQL text of DDL and of
//! multi-row insert, upsert, update and delete statements.

use super::table::TableId;
use super::value::SqlType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    MySql,
    Postgres,
}

/// The conflict handling of a multi-row insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict<'a> {
    /// Plain INSERT: a duplicate key fails the batch.
    Fail,
    /// UPSERT: overwrite the non-key columns of the row with this key.
    Update { key: &'a [String] },
}

impl Dialect {
    pub fn name(&self) -> &'static str {
        match self {
            Dialect::MySql => "MySQL",
            Dialect::Postgres => "Postgres",
        }
    }

    pub fn default_port(&self) -> u16 {
        match self {
            Dialect::MySql => 3306,
            Dialect::Postgres => 5432,
        }
    }

    /// MySQL compares column names case-insensitively; Postgres keeps the
    /// case of quoted identifiers (and we always quote).
    pub fn case_insensitive_columns(&self) -> bool {
        matches!(self, Dialect::MySql)
    }

    /// Quotes an identifier, doubling embedded quote characters, so any
    /// topic or field name is a safe identifier.
    pub fn quote(&self, ident: &str) -> String {
        let q = match self {
            Dialect::MySql => '`',
            Dialect::Postgres => '"',
        };
        let mut out = String::with_capacity(ident.len() + 2);
        out.push(q);
        for c in ident.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    pub fn table(&self, id: &TableId) -> String {
        match &id.schema {
            Some(schema) => format!("{}.{}", self.quote(schema), self.quote(&id.name)),
            None => self.quote(&id.name),
        }
    }

    /// The column type `auto.create`/`auto.evolve` give a JSON type.
    /// MySQL cannot index TEXT without a prefix length (nor JSON at all), so
    /// key columns of those types are VARCHAR(256).
    ///
    /// Types from Connect schemas follow Confluent's dialects (INT32 → INT,
    /// FLOAT32 → REAL/FLOAT, Decimal → DECIMAL / DECIMAL(65,scale), Date →
    /// DATE, Time → TIME / TIME(3), Timestamp → TIMESTAMP / DATETIME(3),
    /// BYTES → BYTEA / BLOB, VARBINARY(1024) for a MySQL key).
    pub fn column_type(&self, ty: SqlType, primary_key: bool) -> String {
        let name = match (self, ty) {
            (Dialect::MySql, SqlType::TinyInt) => "TINYINT",
            (_, SqlType::TinyInt | SqlType::SmallInt) => "SMALLINT",
            (_, SqlType::Int) => "INT",
            (_, SqlType::BigInt) => "BIGINT",
            (Dialect::MySql, SqlType::Real) => "FLOAT",
            (Dialect::Postgres, SqlType::Real) => "REAL",
            (Dialect::MySql, SqlType::Double) => "DOUBLE",
            (Dialect::Postgres, SqlType::Double) => "DOUBLE PRECISION",
            (_, SqlType::Boolean) => "BOOLEAN",
            (Dialect::MySql, SqlType::Text | SqlType::Json) if primary_key => "VARCHAR(256)",
            (_, SqlType::Text) => "TEXT",
            (Dialect::MySql, SqlType::Json) => "JSON",
            (Dialect::Postgres, SqlType::Json) => "JSONB",
            (Dialect::MySql, SqlType::Bytes) if primary_key => "VARBINARY(1024)",
            (Dialect::MySql, SqlType::Bytes) => "BLOB",
            (Dialect::Postgres, SqlType::Bytes) => "BYTEA",
            // MySQL's maximum precision is 65.
            (Dialect::MySql, SqlType::Decimal(scale)) => return format!("DECIMAL(65,{scale})"),
            (Dialect::Postgres, SqlType::Decimal(_)) => "DECIMAL",
            (_, SqlType::Date) => "DATE",
            (Dialect::MySql, SqlType::Time) => "TIME(3)",
            (Dialect::Postgres, SqlType::Time) => "TIME",
            (Dialect::MySql, SqlType::Timestamp) => "DATETIME(3)",
            (Dialect::Postgres, SqlType::Timestamp) => "TIMESTAMP",
        };
        name.to_string()
    }

    /// `CREATE TABLE IF NOT EXISTS`, so tasks racing to create the same
    /// table do not fail. Key columns are NOT NULL; every other column is
    /// nullable, since schemaless records may leave any field out.
    pub fn create_table(
        &self,
        id: &TableId,
        columns: &[(String, SqlType)],
        key: &[String],
    ) -> String {
        let columns: Vec<(String, SqlType, bool)> = columns
            .iter()
            .map(|(name, ty)| (name.clone(), *ty, !key.contains(name)))
            .collect();
        self.create_table_nullable(id, &columns, key)
    }

    /// [`create_table`](Self::create_table) with each column's nullability
    /// (`true`: NULL): columns of required Connect fields are NOT NULL, as
    /// Confluent's sink creates them. Key columns are always NOT NULL.
    pub fn create_table_nullable(
        &self,
        id: &TableId,
        columns: &[(String, SqlType, bool)],
        key: &[String],
    ) -> String {
        let mut lines: Vec<String> = columns
            .iter()
            .map(|(name, ty, nullable)| {
                let is_key = key.contains(name);
                format!(
                    "{} {} {}",
                    self.quote(name),
                    self.column_type(*ty, is_key),
                    if is_key || !nullable {
                        "NOT NULL"
                    } else {
                        "NULL"
                    }
                )
            })
            .collect();
        if !key.is_empty() {
            lines.push(format!("PRIMARY KEY({})", self.column_list(key)));
        }
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n{})",
            self.table(id),
            lines.join(",\n")
        )
    }

    /// Adds a nullable column. Postgres skips an existing column itself;
    /// MySQL has no `IF NOT EXISTS` here, so its backend ignores
    /// "duplicate column" (another task got there first).
    pub fn add_column(&self, id: &TableId, name: &str, ty: SqlType) -> String {
        let if_not_exists = match self {
            Dialect::MySql => "",
            Dialect::Postgres => "IF NOT EXISTS ",
        };
        format!(
            "ALTER TABLE {} ADD COLUMN {if_not_exists}{} {} NULL",
            self.table(id),
            self.quote(name),
            self.column_type(ty, false)
        )
    }

    /// The `n`th (1-based) parameter. Postgres parameters are cast to the
    /// column's declared type: values are bound as text and the explicit
    /// cast lets them land in a bigint, timestamp or jsonb column, as an
    /// implicit assignment cast would not.
    pub fn param(&self, n: usize, cast: Option<&str>) -> String {
        match (self, cast) {
            (Dialect::MySql, _) => "?".to_string(),
            (Dialect::Postgres, None) => format!("${n}"),
            (Dialect::Postgres, Some(ty)) => format!("${n}::{ty}"),
        }
    }

    /// `INSERT INTO t (c…) VALUES (…),(…)` for `rows` rows, with the upsert
    /// clause of the database: `ON DUPLICATE KEY UPDATE` (MySQL) or
    /// `ON CONFLICT (key) DO UPDATE` (Postgres). `casts` line up with `columns`.
    pub fn insert(
        &self,
        id: &TableId,
        columns: &[String],
        casts: &[Option<String>],
        rows: usize,
        on_conflict: OnConflict<'_>,
    ) -> String {
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table(id),
            self.column_list(columns)
        );
        let mut n = 0;
        for row in 0..rows {
            if row > 0 {
                sql.push(',');
            }
            sql.push('(');
            for i in 0..columns.len() {
                if i > 0 {
                    sql.push(',');
                }
                n += 1;
                sql.push_str(&self.param(n, casts.get(i).and_then(|c| c.as_deref())));
            }
            sql.push(')');
        }
        if let OnConflict::Update { key } = on_conflict {
            sql.push(' ');
            sql.push_str(&self.upsert_clause(columns, key));
        }
        sql
    }

    /// What turns an insert of `columns` into an upsert on `key`:
    /// `ON DUPLICATE KEY UPDATE …` (MySQL) or `ON CONFLICT (key) DO UPDATE …`
    /// (Postgres), overwriting the non-key columns.
    pub fn upsert_clause(&self, columns: &[String], key: &[String]) -> String {
        let non_key: Vec<&String> = columns.iter().filter(|c| !key.contains(c)).collect();
        match self {
            Dialect::MySql => {
                // Every column a key column: nothing to change, but the
                // clause still turns a duplicate into a no-op.
                let assign: Vec<String> = if non_key.is_empty() {
                    key.iter().collect()
                } else {
                    non_key
                }
                .into_iter()
                .map(|c| format!("{q}=VALUES({q})", q = self.quote(c)))
                .collect();
                format!("ON DUPLICATE KEY UPDATE {}", assign.join(","))
            }
            Dialect::Postgres => {
                let target = format!("ON CONFLICT ({}) ", self.column_list(key));
                if non_key.is_empty() {
                    return target + "DO NOTHING";
                }
                let assign: Vec<String> = non_key
                    .into_iter()
                    .map(|c| format!("{q}=EXCLUDED.{q}", q = self.quote(c)))
                    .collect();
                target + "DO UPDATE SET " + &assign.join(",")
            }
        }
    }

    /// `UPDATE t SET c=… WHERE k=… AND …` for one row: parameters are the
    /// set columns, then the key columns.
    pub fn update(
        &self,
        id: &TableId,
        set: &[String],
        set_casts: &[Option<String>],
        key: &[String],
        key_casts: &[Option<String>],
    ) -> String {
        let mut n = 0;
        let mut next = |cast: Option<&Option<String>>| {
            n += 1;
            self.param(n, cast.and_then(|c| c.as_deref()))
        };
        let assign: Vec<String> = set
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}={}", self.quote(c), next(set_casts.get(i))))
            .collect();
        let cond: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}={}", self.quote(c), next(key_casts.get(i))))
            .collect();
        format!(
            "UPDATE {} SET {} WHERE {}",
            self.table(id),
            assign.join(","),
            cond.join(" AND ")
        )
    }

    /// `DELETE FROM t WHERE k IN (…)`, or `(k1,k2) IN ((…),(…))` for a
    /// composite key (both databases accept row-value comparisons).
    pub fn delete(
        &self,
        id: &TableId,
        key: &[String],
        casts: &[Option<String>],
        rows: usize,
    ) -> String {
        let mut n = 0;
        let tuples: Vec<String> = (0..rows)
            .map(|_| {
                let params: Vec<String> = (0..key.len())
                    .map(|i| {
                        n += 1;
                        self.param(n, casts.get(i).and_then(|c| c.as_deref()))
                    })
                    .collect();
                if key.len() == 1 {
                    params.join(",")
                } else {
                    format!("({})", params.join(","))
                }
            })
            .collect();
        let target = if key.len() == 1 {
            self.quote(&key[0])
        } else {
            format!("({})", self.column_list(key))
        };
        format!(
            "DELETE FROM {} WHERE {target} IN ({})",
            self.table(id),
            tuples.join(",")
        )
    }

    /// Quoted identifiers, comma-separated.
    pub fn column_list(&self, columns: &[String]) -> String {
        columns
            .iter()
            .map(|c| self.quote(c))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> TableId {
        TableId {
            schema: None,
            name: name.into(),
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn identifiers_are_quoted_and_escaped() {
        assert_eq!(Dialect::MySql.quote("orders"), "`orders`");
        assert_eq!(Dialect::MySql.quote("we`ird"), "`we``ird`");
        assert_eq!(Dialect::Postgres.quote("Order Lines"), "\"Order Lines\"");
        assert_eq!(
            Dialect::Postgres.quote("a\"; DROP TABLE x; --"),
            "\"a\"\"; DROP TABLE x; --\""
        );
        let qualified = TableId {
            schema: Some("sales".into()),
            name: "orders-v1".into(),
        };
        assert_eq!(
            Dialect::Postgres.table(&qualified),
            "\"sales\".\"orders-v1\""
        );
        assert_eq!(Dialect::MySql.table(&qualified), "`sales`.`orders-v1`");
    }

    #[test]
    fn column_types_per_database() {
        use SqlType::*;
        assert_eq!(Dialect::MySql.column_type(BigInt, false), "BIGINT");
        assert_eq!(Dialect::MySql.column_type(Double, false), "DOUBLE");
        assert_eq!(
            Dialect::Postgres.column_type(Double, false),
            "DOUBLE PRECISION"
        );
        assert_eq!(Dialect::MySql.column_type(Boolean, false), "BOOLEAN");
        assert_eq!(Dialect::MySql.column_type(Text, false), "TEXT");
        assert_eq!(Dialect::MySql.column_type(Text, true), "VARCHAR(256)");
        assert_eq!(Dialect::Postgres.column_type(Text, true), "TEXT");
        assert_eq!(Dialect::MySql.column_type(Json, false), "JSON");
        assert_eq!(Dialect::Postgres.column_type(Json, false), "JSONB");
    }

    #[test]
    fn schema_column_types_follow_confluents_dialects() {
        use SqlType::*;
        let pg = |t| Dialect::Postgres.column_type(t, false);
        let my = |t| Dialect::MySql.column_type(t, false);
        assert_eq!((pg(Int), my(Int)), ("INT".into(), "INT".into()));
        assert_eq!(
            (pg(TinyInt), my(TinyInt)),
            ("SMALLINT".into(), "TINYINT".into())
        );
        assert_eq!((pg(Real), my(Real)), ("REAL".into(), "FLOAT".into()));
        assert_eq!(
            (pg(Decimal(2)), my(Decimal(2))),
            ("DECIMAL".into(), "DECIMAL(65,2)".into())
        );
        assert_eq!((pg(Date), my(Date)), ("DATE".into(), "DATE".into()));
        assert_eq!((pg(Time), my(Time)), ("TIME".into(), "TIME(3)".into()));
        assert_eq!(
            (pg(Timestamp), my(Timestamp)),
            ("TIMESTAMP".into(), "DATETIME(3)".into())
        );
        assert_eq!((pg(Bytes), my(Bytes)), ("BYTEA".into(), "BLOB".into()));
        assert_eq!(Dialect::MySql.column_type(Bytes, true), "VARBINARY(1024)");
        let cols = vec![
            ("id".to_string(), Int, false),
            ("note".to_string(), Text, true),
            ("at".to_string(), Timestamp, false),
        ];
        assert_eq!(
            Dialect::Postgres.create_table_nullable(&t("o"), &cols, &s(&["id"])),
            "CREATE TABLE IF NOT EXISTS \"o\" (\n\"id\" INT NOT NULL,\n\"note\" TEXT NULL,\n\"at\" TIMESTAMP NOT NULL,\nPRIMARY KEY(\"id\"))"
        );
    }

    #[test]
    fn create_table_with_primary_key() {
        let cols = vec![
            ("orderid".to_string(), SqlType::BigInt),
            ("itemid".to_string(), SqlType::Text),
        ];
        assert_eq!(
            Dialect::MySql.create_table(&t("orders"), &cols, &s(&["orderid"])),
            "CREATE TABLE IF NOT EXISTS `orders` (\n`orderid` BIGINT NOT NULL,\n`itemid` TEXT NULL,\nPRIMARY KEY(`orderid`))"
        );
        assert_eq!(
            Dialect::Postgres.create_table(&t("orders"), &cols, &[]),
            "CREATE TABLE IF NOT EXISTS \"orders\" (\n\"orderid\" BIGINT NULL,\n\"itemid\" TEXT NULL)"
        );
        let string_key = vec![("id".to_string(), SqlType::Text)];
        assert!(Dialect::MySql
            .create_table(&t("u"), &string_key, &s(&["id"]))
            .contains("`id` VARCHAR(256) NOT NULL"));
    }

    #[test]
    fn add_column_is_nullable() {
        assert_eq!(
            Dialect::MySql.add_column(&t("orders"), "note", SqlType::Text),
            "ALTER TABLE `orders` ADD COLUMN `note` TEXT NULL"
        );
        assert_eq!(
            Dialect::Postgres.add_column(&t("orders"), "note", SqlType::Json),
            "ALTER TABLE \"orders\" ADD COLUMN IF NOT EXISTS \"note\" JSONB NULL"
        );
    }

    #[test]
    fn multi_row_insert_and_upserts() {
        let cols = s(&["id", "name"]);
        let none = vec![None, None];
        assert_eq!(
            Dialect::MySql.insert(&t("u"), &cols, &none, 2, OnConflict::Fail),
            "INSERT INTO `u` (`id`,`name`) VALUES (?,?),(?,?)"
        );
        let key = s(&["id"]);
        assert_eq!(
            Dialect::MySql.insert(&t("u"), &cols, &none, 1, OnConflict::Update { key: &key }),
            "INSERT INTO `u` (`id`,`name`) VALUES (?,?) ON DUPLICATE KEY UPDATE `name`=VALUES(`name`)"
        );
        let casts = vec![Some("bigint".to_string()), Some("text".to_string())];
        assert_eq!(
            Dialect::Postgres.insert(&t("u"), &cols, &casts, 2, OnConflict::Update { key: &key }),
            "INSERT INTO \"u\" (\"id\",\"name\") VALUES ($1::bigint,$2::text),($3::bigint,$4::text) \
             ON CONFLICT (\"id\") DO UPDATE SET \"name\"=EXCLUDED.\"name\""
        );
        // Only key columns: a duplicate is a no-op.
        assert_eq!(
            Dialect::Postgres.insert(&t("u"), &key, &[None], 1, OnConflict::Update { key: &key }),
            "INSERT INTO \"u\" (\"id\") VALUES ($1) ON CONFLICT (\"id\") DO NOTHING"
        );
        assert_eq!(
            Dialect::MySql.insert(&t("u"), &key, &[None], 1, OnConflict::Update { key: &key }),
            "INSERT INTO `u` (`id`) VALUES (?) ON DUPLICATE KEY UPDATE `id`=VALUES(`id`)"
        );
    }

    #[test]
    fn update_and_delete() {
        assert_eq!(
            Dialect::Postgres.update(
                &t("u"),
                &s(&["name", "age"]),
                &[None, Some("integer".into())],
                &s(&["id"]),
                &[Some("bigint".into())]
            ),
            "UPDATE \"u\" SET \"name\"=$1,\"age\"=$2::integer WHERE \"id\"=$3::bigint"
        );
        assert_eq!(
            Dialect::MySql.update(
                &t("u"),
                &s(&["name"]),
                &[None],
                &s(&["a", "b"]),
                &[None, None]
            ),
            "UPDATE `u` SET `name`=? WHERE `a`=? AND `b`=?"
        );
        assert_eq!(
            Dialect::MySql.delete(&t("u"), &s(&["id"]), &[None], 3),
            "DELETE FROM `u` WHERE `id` IN (?,?,?)"
        );
        assert_eq!(
            Dialect::Postgres.delete(&t("u"), &s(&["a", "b"]), &[None, Some("bigint".into())], 2),
            "DELETE FROM \"u\" WHERE (\"a\",\"b\") IN (($1,$2::bigint),($3,$4::bigint))"
        );
    }
}
