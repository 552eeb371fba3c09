//! Reading `sql()`'s options into [`Settings`], with syslog-ng 3.38's defaults: user
//! `syslog-ng`, database `logs`, table `messages`, no host or port (the client library's
//! defaults), `retries(3)`, and with `flags(explicit-commits)` transactions of `batch-lines()`
//! rows (100 when not set).

use std::time::Duration;

use rsng_config::ir::Value;
use rsng_config::preprocess::pragma::unescape_double;

use crate::options::typed::Flags;
use crate::options::Options;
use crate::DriverError;

/// Rows per transaction with `flags(explicit-commits)` and no `batch-lines()`
/// (`DEFAULT_SQL_TX_SIZE`).
pub const DEFAULT_TX_SIZE: usize = 100;

/// The database servers rsng talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `type(mysql)`, the default: MySQL or MariaDB.
    Mysql,
    /// `type(pgsql)`: PostgreSQL.
    Postgres,
}

/// One column: its name, its type in `CREATE TABLE`, and its value (`None`: `default`, left
/// out of the `INSERT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub sql_type: String,
    pub value: Option<String>,
}

crate::typed_options! {
    /// What `sql()` reads, with syslog-ng 3.38's defaults.
    pub struct SqlOptions {
        driver {
            /// As written: stats and messages name it.
            pub kind: String = "type" or ("mysql".to_string());
            pub host: String = "host" or (String::new());
            /// A number or a string of digits; the client library's default when absent.
            pub port: Value = "port";
            pub username: String = "username" or ("syslog-ng".to_string());
            pub password: String = "password" or (String::new());
            pub database: String = "database" or ("logs".to_string());
            /// A template.
            pub table: String = "table" or ("messages".to_string());
            /// `"name type"` each.
            pub columns: Vec<String> = "columns" or (Vec::new());
            /// Kept as written ([`parse_values`] tells quoted templates from `default`).
            pub values: Value = "values";
            pub indexes: Vec<String> = "indexes" or (Vec::new());
            pub null: String = "null";
            pub session_statements: Vec<String> = "session-statements" or (Vec::new());
            pub create_statement_append: String = "create-statement-append";
            /// `explicit-commits`, `dont-create-tables`.
            pub flags: Flags = "flags" or (Flags::default());
            /// `flush-lines()` is the older name of `batch-lines()`.
            pub batch_lines: usize = "batch-lines" if (|&n| n > 0);
            pub flush_lines: usize = "flush-lines" if (|&n| n > 0);
            /// Milliseconds; `flush-timeout()` is its older name.
            pub batch_timeout: u64 = "batch-timeout" if (|&n| n > 0);
            pub flush_timeout: u64 = "flush-timeout" if (|&n| n > 0);
            /// `retry-sql-inserts()` is its older name (an alias).
            pub retries: u32 = "retries" if (|&n| n > 0) or (3);
            /// Only Oracle's client reads it: warned about, as syslog-ng does.
            pub ignore_tns_config: bool = "ignore-tns-config" or (false);
        }
        inherited {
            /// Seconds to wait before connecting again after a failure.
            pub time_reopen: u64 = "time-reopen" if (|&n| n > 0) or (60);
        }
        global {}
    }
}

impl SqlOptions {
    /// `port()` as text (empty: the client library's default).
    pub fn port_text(&self) -> String {
        match &self.port {
            Some(Value::Int(n)) => n.to_string(),
            Some(Value::Str(s) | Value::Raw(s)) => s.clone(),
            _ => String::new(),
        }
    }
}

/// The words of `flags()` that `sql()` acts on.
pub const SQL_FLAGS: &[&str] = &["explicit-commits", "dont-create-tables"];

/// Everything of `sql()` but the compiled templates.
#[derive(Debug, Clone)]
pub struct Settings {
    pub backend: Backend,
    /// As written in `type()`: stats and messages name it.
    pub type_name: String,
    pub host: String,
    pub port: String,
    pub user: String,
    pub password: String,
    pub database: String,
    /// The `table()` template as written.
    pub table: String,
    pub columns: Vec<Column>,
    pub indexes: Vec<String>,
    /// `null()`: a value equal to it is inserted as `NULL`.
    pub null_value: Option<String>,
    pub session_statements: Vec<String>,
    pub create_statement_append: Option<String>,
    pub explicit_commits: bool,
    pub dont_create_tables: bool,
    /// Rows taken at once: with explicit commits, one transaction.
    pub batch_lines: usize,
    pub batch_timeout: Option<Duration>,
    pub retries: u32,
    pub time_reopen: Duration,
}

/// Reads the settings.
///
/// # Errors
/// A `type()` rsng cannot talk to, a missing `columns()` or `values()`, a different number of
/// each, a column name that is not a plain SQL name, a bad `port()`.
pub fn read(opts: &Options<'_>) -> Result<(Settings, SqlOptions), DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    let o = SqlOptions::read(opts);
    let type_name = o.kind.clone();
    let backend = match type_name.as_str() {
        "mysql" => Backend::Mysql,
        "pgsql" => Backend::Postgres,
        other => {
            return Err(err(format!(
                "sql(): type('{other}') is not supported by rsng; it writes to MySQL/MariaDB, type(mysql), \
                 and PostgreSQL, type(pgsql)"
            )))
        }
    };
    let port = o.port_text();
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(format!("Illegal sql port number: {port}")));
    }
    let column_texts = &o.columns;
    let values = match &o.values {
        Some(Value::Raw(text)) => parse_values(text).map_err(err)?,
        _ => Vec::new(),
    };
    if column_texts.is_empty() || values.is_empty() {
        return Err(err(format!(
            "Default columns and values must be specified for database destinations; type='{type_name}'"
        )));
    }
    if column_texts.len() != values.len() {
        return Err(err(format!(
            "The number of columns and values do not match; len_columns='{}', len_values='{}'",
            column_texts.len(),
            values.len()
        )));
    }
    let mut columns = Vec::with_capacity(values.len());
    for (text, value) in column_texts.iter().zip(values) {
        let (name, sql_type) = split_column(text);
        if !name.bytes().all(is_identifier_byte) {
            return Err(err(format!("Column name is not a proper SQL name; column='{name}'")));
        }
        columns.push(Column { name, sql_type, value });
    }
    let explicit_commits = o.flags.contains("explicit-commits");
    let batch_lines = match (explicit_commits, o.batch_lines.or(o.flush_lines)) {
        (true, None) => DEFAULT_TX_SIZE,
        (_, n) => n.unwrap_or(1),
    };
    let settings = Settings {
        backend,
        type_name,
        host: o.host.clone(),
        port,
        user: o.username.clone(),
        password: o.password.clone(),
        database: o.database.clone(),
        table: o.table.clone(),
        columns,
        indexes: o.indexes.clone(),
        null_value: o.null.clone(),
        session_statements: o.session_statements.clone(),
        create_statement_append: o.create_statement_append.clone(),
        explicit_commits,
        dont_create_tables: o.flags.contains("dont-create-tables"),
        batch_lines,
        batch_timeout: o.batch_timeout.or(o.flush_timeout).map(Duration::from_millis),
        retries: o.retries,
        time_reopen: Duration::from_secs(o.time_reopen),
    };
    Ok((settings, o))
}

/// The characters syslog-ng allows in column and table names; others become `_` in table names.
pub fn is_identifier_byte(b: u8) -> bool {
    b == b'.' || b == b'_' || b.is_ascii_alphanumeric()
}

/// `"name type"`: the name up to the first space, the type after the spaces (`text` when none).
fn split_column(text: &str) -> (String, String) {
    match text.split_once(' ') {
        Some((name, rest)) => {
            let sql_type = rest.trim_start_matches(' ');
            (name.to_string(), if sql_type.is_empty() { "text".to_string() } else { sql_type.to_string() })
        }
        None => (text.to_string(), "text".to_string()),
    }
}

/// `values("$HOST", default, '${MSG}')` from its source text: quoted strings are templates, the
/// bare word `default` leaves the column to the database, another bare word is a template.
fn parse_values(text: &str) -> Result<Vec<Option<String>>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim_start_matches([' ', '\t', '\n', '\r', ',']);
    while !rest.is_empty() {
        let (value, used) = if rest.starts_with('"') {
            let (v, used) = unescape_double(rest).ok_or_else(|| format!("unterminated string in values(): {rest}"))?;
            (Some(v), used)
        } else if let Some(inner) = rest.strip_prefix('\'') {
            let end = inner.find('\'').ok_or_else(|| format!("unterminated string in values(): {rest}"))?;
            (Some(inner[..end].to_string()), end + 2)
        } else {
            let end = rest.find([' ', '\t', '\n', '\r', ',']).unwrap_or(rest.len());
            let word = &rest[..end];
            (if word == "default" { None } else { Some(word.to_string()) }, end)
        };
        out.push(value);
        rest = rest[used..].trim_start_matches([' ', '\t', '\n', '\r', ',']);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_defaults() {
        let v = parse_values(r#""${HOST}", default, '$MSG' "a\"b" $PID"#).unwrap();
        assert_eq!(v, [Some("${HOST}".into()), None, Some("$MSG".into()), Some("a\"b".into()), Some("$PID".into())]);
        assert!(parse_values("\"open").is_err());
    }

    #[test]
    fn columns_with_types() {
        assert_eq!(split_column("host varchar(32)"), ("host".into(), "varchar(32)".into()));
        assert_eq!(split_column("msg"), ("msg".into(), "text".into()));
        assert_eq!(split_column("msg   "), ("msg".into(), "text".into()));
        assert_eq!(split_column("id  serial primary key"), ("id".into(), "serial primary key".into()));
    }
}
