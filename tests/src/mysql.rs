//! Databases of their own on the local MariaDB (`MYSQL_URL`, default
//! mysql://root@127.0.0.1:3306/mysql), for the tests of the MySQL
//! connectors.

use sqlx::mysql::MySqlPoolOptions;
use sqlx::MySqlPool;

pub fn admin_url() -> String {
    std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

/// A MariaDB database named `<prefix>_<random>`, dropped by [`MySqlDatabase::drop`].
pub struct MySqlDatabase {
    pub name: String,
    pub pool: MySqlPool,
}

impl MySqlDatabase {
    pub async fn create(prefix: &str) -> anyhow::Result<MySqlDatabase> {
        let name = crate::unique(prefix);
        let admin = MySqlPoolOptions::new()
            .max_connections(1)
            .connect(&admin_url())
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await?;
        admin.close().await;
        let base = admin_url();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap_or(base.len())]);
        let pool = MySqlPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await?;
        Ok(MySqlDatabase { name, pool })
    }

    pub async fn drop(self) -> anyhow::Result<()> {
        self.pool.close().await;
        let admin = MySqlPoolOptions::new()
            .max_connections(1)
            .connect(&admin_url())
            .await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {}", self.name))
            .execute(&admin)
            .await?;
        admin.close().await;
        Ok(())
    }
}
