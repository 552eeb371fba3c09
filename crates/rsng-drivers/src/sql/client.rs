//! The connection to the database server, one kind per [`Backend`]: what the worker asks of it
//! (run a statement, list a table's columns, run a batch of statements, quote a literal) done
//! the way syslog-ng's libdbi driver for that server does it.

use std::ops::Range;
use std::time::Duration;

use mysql_async::prelude::Queryable;

use super::options::{Backend, Settings};

/// Where a local MySQL/MariaDB server listens when `host()` is empty or `localhost` (the
/// client library's default on Debian).
const MYSQL_SOCKET: &str = "/run/mysqld/mysqld.sock";

/// The most bytes of a batch sent to MySQL as one query: well under `max_allowed_packet`
/// (4 MiB in MySQL 5.7, 16 MiB in MariaDB, 64 MiB in MySQL 8).
const MYSQL_CHUNK: usize = 1024 * 1024;

/// A batch that did not go in whole.
pub struct BatchError {
    /// Statements of the batch that went in before the failure.
    pub done: usize,
    /// The server's message, as syslog-ng's `error='...'` shows it.
    pub error: String,
}

pub enum Connection {
    Postgres {
        client: tokio_postgres::Client,
        /// `standard_conforming_strings`: when off, backslashes are doubled too.
        standard_strings: bool,
    },
    Mysql {
        conn: mysql_async::Conn,
        /// `NO_BACKSLASH_ESCAPES` in the session's `sql_mode`: quotes are doubled, backslashes
        /// are plain characters.
        no_backslash_escapes: bool,
        /// An error that was not the server's (I/O, protocol): the connection is gone.
        broken: bool,
    },
}

impl Connection {
    /// Connects and runs `session-statements()`. The error is syslog-ng's text for the failed
    /// step: `Err((text, None))` for the connection, `Err((text, Some(statement)))` for a
    /// session statement.
    pub async fn open(s: &Settings) -> Result<Connection, (String, Option<String>)> {
        let mut conn = match s.backend {
            Backend::Postgres => Self::open_postgres(s).await?,
            Backend::Mysql => Self::open_mysql(s).await?,
        };
        for statement in &s.session_statements {
            if let Err(e) = conn.execute(statement).await {
                return Err((e, Some(statement.clone())));
            }
        }
        if let Connection::Mysql { conn, no_backslash_escapes, .. } = &mut conn {
            // Read after the session statements, which may set the mode; the C client escapes by
            // the server status the same way.
            if let Ok(Some(mode)) = conn.query_first::<String, _>("SELECT @@SESSION.sql_mode").await {
                *no_backslash_escapes = mode.split(',').any(|m| m == "NO_BACKSLASH_ESCAPES");
            }
        }
        Ok(conn)
    }

    async fn open_postgres(s: &Settings) -> Result<Connection, (String, Option<String>)> {
        let mut config = tokio_postgres::Config::new();
        // Like libpq: no host is the server's local socket; a path is a socket directory.
        match s.host.as_str() {
            "" => config.host_path("/var/run/postgresql"),
            h if h.starts_with('/') => config.host_path(h),
            h => config.host(h),
        };
        if let Ok(port) = s.port.parse::<u16>() {
            config.port(port);
        }
        config.user(&s.user).dbname(&s.database).connect_timeout(Duration::from_secs(30));
        if !s.password.is_empty() {
            config.password(&s.password);
        }
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(|e| (pg_error(&e), None))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let standard_strings = match client.query_one("SHOW standard_conforming_strings", &[]).await {
            Ok(row) => row.try_get::<_, String>(0).map_or(true, |v| v == "on"),
            Err(_) => true,
        };
        Ok(Connection::Postgres { client, standard_strings })
    }

    async fn open_mysql(s: &Settings) -> Result<Connection, (String, Option<String>)> {
        // As libmysqlclient: no host or `localhost` is the local socket, anything else TCP (port
        // 3306 unless given); the server is not asked for its socket to switch to.
        let mut opts = mysql_async::OptsBuilder::default()
            .user(Some(&s.user))
            .db_name(Some(&s.database))
            .prefer_socket(false)
            .stmt_cache_size(0)
            .tcp_port(s.port.parse::<u16>().ok().filter(|&p| p != 0).unwrap_or(3306));
        if !s.password.is_empty() {
            opts = opts.pass(Some(&s.password));
        }
        opts = match s.host.as_str() {
            "" | "localhost" => opts.socket(Some(MYSQL_SOCKET)),
            h if h.starts_with('/') => opts.socket(Some(h)),
            h => opts.ip_or_hostname(h),
        };
        let conn = match tokio::time::timeout(Duration::from_secs(30), mysql_async::Conn::new(opts)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err((mysql_error(&e), None)),
            Err(_) => return Err(("connection timed out".to_string(), None)),
        };
        Ok(Connection::Mysql { conn, no_backslash_escapes: false, broken: false })
    }

    /// `false` once the server or the network closed the connection.
    pub fn is_open(&self) -> bool {
        match self {
            Connection::Postgres { client, .. } => !client.is_closed(),
            Connection::Mysql { broken, .. } => !broken,
        }
    }

    /// Runs one statement, discarding what it returns.
    pub async fn execute(&mut self, sql: &str) -> Result<(), String> {
        match self {
            Connection::Postgres { client, .. } => client.simple_query(sql).await.map(drop).map_err(|e| pg_error(&e)),
            Connection::Mysql { conn, broken, .. } => {
                let result = conn.query_drop(sql).await;
                result.map_err(|e| mysql_failure(&e, broken))
            }
        }
    }

    /// The column names of the result of `probe` (`SELECT * FROM table WHERE 0=1`); `None`
    /// when it fails, as for a table that does not exist.
    pub async fn columns_of(&mut self, probe: &str) -> Option<Vec<String>> {
        match self {
            Connection::Postgres { client, .. } => {
                let statement = client.prepare(probe).await.ok()?;
                Some(statement.columns().iter().map(|c| c.name().to_string()).collect())
            }
            Connection::Mysql { conn, broken, .. } => {
                let result = conn.query_iter(probe).await;
                let result = result.map_err(|e| mysql_failure(&e, broken)).ok()?;
                let names = result.columns_ref().iter().map(|c| c.name_str().into_owned()).collect();
                result.drop_result().await.map_err(|e| mysql_failure(&e, broken)).ok()?;
                Some(names)
            }
        }
    }

    /// Runs the statements `sql[ranges[i]]`, in order. `sql` holds them joined by `;` (a
    /// transaction's `BEGIN;` and `;COMMIT` included), so that a server that takes several
    /// statements at once gets the batch in one round trip. Without a transaction each
    /// statement commits by itself, and the error tells how many went in before the failure.
    pub async fn run_batch(&mut self, sql: &str, ranges: &[Range<usize>], transaction: bool) -> Result<(), BatchError> {
        match self {
            Connection::Postgres { client, .. } => {
                if transaction {
                    return match client.simple_query(sql).await {
                        Ok(_) => Ok(()),
                        Err(e) => {
                            let error = pg_error(&e);
                            let _ = client.simple_query("ROLLBACK").await;
                            Err(BatchError { done: 0, error })
                        }
                    };
                }
                // Sent back to back on the one connection without waiting for each answer.
                let results =
                    futures_util::future::join_all(ranges.iter().map(|r| client.simple_query(&sql[r.clone()]))).await;
                match results.iter().position(Result::is_err) {
                    None => Ok(()),
                    Some(done) => {
                        let error = results[done].as_ref().err().map(pg_error).unwrap_or_default();
                        Err(BatchError { done, error })
                    }
                }
            }
            Connection::Mysql { conn, broken, .. } => {
                // The text goes in pieces of at most MYSQL_CHUNK bytes, so that a large batch stays
                // under the server's `max_allowed_packet`; a transaction spans the pieces.
                let mut done = 0;
                let mut first = 0;
                while first < ranges.len() {
                    let start = if first == 0 { 0 } else { ranges[first].start };
                    let mut last = first;
                    while last + 1 < ranges.len() && ranges[last + 1].end - start <= MYSQL_CHUNK {
                        last += 1;
                    }
                    let end = if last + 1 == ranges.len() { sql.len() } else { ranges[last].end };
                    let statements = last + 1 - first
                        + usize::from(transaction && first == 0)
                        + usize::from(transaction && end == sql.len());
                    if let Err((went_in, e)) = mysql_statements(conn, &sql[start..end], statements).await {
                        let error = mysql_failure(&e, broken);
                        if transaction {
                            if !*broken {
                                let _ = conn.query_drop("ROLLBACK").await;
                            }
                            return Err(BatchError { done: 0, error });
                        }
                        return Err(BatchError { done: (done + went_in).min(ranges.len() - 1), error });
                    }
                    done += last + 1 - first;
                    first = last + 1;
                }
                Ok(())
            }
        }
    }

    /// Appends `text` as a string literal, quoted as the server's own client library does.
    pub fn quote(&self, out: &mut String, text: &str) {
        match self {
            Connection::Postgres { standard_strings, .. } => quote_postgres(out, text, *standard_strings),
            Connection::Mysql { no_backslash_escapes, .. } => quote_mysql(out, text, *no_backslash_escapes),
        }
    }
}

/// `text` as a literal, as PostgreSQL's `PQescapeStringConn` quotes it.
fn quote_postgres(out: &mut String, text: &str, standard_strings: bool) {
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' if !standard_strings => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// `text` as a literal, as MySQL's `mysql_real_escape_string` quotes it: with backslashes, or
/// under `NO_BACKSLASH_ESCAPES` by doubling quotes only.
fn quote_mysql(out: &mut String, text: &str, no_backslash_escapes: bool) {
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' if no_backslash_escapes => out.push_str("''"),
            c if no_backslash_escapes => out.push(c),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\x1a' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

/// Sends `text`, `statements` statements joined by `;`, as one query. The server runs them in
/// order and stops at the first that fails; the error tells how many went in before it.
async fn mysql_statements(
    conn: &mut mysql_async::Conn,
    text: &str,
    statements: usize,
) -> Result<(), (usize, mysql_async::Error)> {
    let mut result = conn.query_iter(text).await.map_err(|e| (0, e))?;
    // Reading a statement's answer reads the next one's status too, and the client keeps a
    // failure as the next answer: the answers read without an error are the statements that
    // went in.
    let mut done = 0;
    while done < statements {
        result.collect::<mysql_async::Row>().await.map_err(|e| (done, e))?;
        done += 1;
    }
    Ok(())
}

/// The server's message for a failed statement, else the client's.
fn pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}:  {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

/// libdbi's text for a MySQL error: `CODE: message` for the server's errors.
fn mysql_error(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("{}: {}", s.code, s.message),
        other => other.to_string(),
    }
}

/// [`mysql_error`], marking the connection broken unless the server answered with the error.
fn mysql_failure(e: &mysql_async::Error, broken: &mut bool) -> String {
    if !matches!(e, mysql_async::Error::Server(_)) {
        *broken = true;
    }
    mysql_error(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_as_libpq_quotes_them() {
        let mut s = String::new();
        quote_postgres(&mut s, r"it's a \ test", true);
        assert_eq!(s, r"'it''s a \ test'");
        s.clear();
        quote_postgres(&mut s, r"it's a \ test", false);
        assert_eq!(s, r"'it''s a \\ test'");
    }

    #[test]
    fn literals_as_libmysqlclient_quotes_them() {
        let mut s = String::new();
        quote_mysql(&mut s, "it's a \\ \"q\"\n\r\t\x1a", false);
        assert_eq!(s, r#"'it\'s a \\ \"q\"\n\r	\Z'"#);
        s.clear();
        quote_mysql(&mut s, "it's a \\ \"q\"", true);
        assert_eq!(s, r#"'it''s a \ "q"'"#);
    }
}
