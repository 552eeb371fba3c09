//! The worker of an `sql()` destination: it takes batches from the destination queue, makes
//! sure their tables exist with every column, and inserts the rows, as syslog-ng's threaded
//! destination and its `afsql` module do.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rsng_core::template::{FormatOptions, Template};
use rsng_core::LogMessage;
use tokio_util::sync::CancellationToken;

use super::client::Connection;
use super::options::{is_identifier_byte, Settings};
use crate::internal;
use crate::pipeline::DestinationQueue;
use crate::threaded;
use crate::{Destination, DestinationContext, Task};

/// Rows a worker takes from an in-memory queue at once without transactions; each is still an
/// insert of its own, sent one after the other without waiting for each answer.
const CHUNK: usize = 64;

/// What the worker needs of the driver.
pub struct Shared {
    settings: Settings,
    table: Arc<Template>,
    /// The template of each column; `None` for `default`.
    values: Vec<Option<Arc<Template>>>,
    table_format: FormatOptions,
    values_format: FormatOptions,
    /// `d_sql#0`, as syslog-ng's messages name the driver.
    driver: String,
    location: String,
}

impl Shared {
    pub fn new(
        settings: Settings,
        table: Arc<Template>,
        values: Vec<Option<Arc<Template>>>,
        table_format: FormatOptions,
        values_format: FormatOptions,
        driver: String,
        location: String,
    ) -> Arc<Shared> {
        Arc::new(Shared { settings, table, values, table_format, values_format, driver, location })
    }

    /// `type='pgsql', host=..., ...`: how syslog-ng's messages name the database.
    fn server(&self) -> String {
        let s = &self.settings;
        format!(
            "type='{}', host='{}', port='{}', username='{}', database='{}'",
            s.type_name, s.host, s.port, s.user, s.database
        )
    }
}

pub struct SqlDestination {
    shared: Arc<Shared>,
}

impl SqlDestination {
    pub fn new(shared: Arc<Shared>) -> SqlDestination {
        SqlDestination { shared }
    }
}

impl Destination for SqlDestination {
    fn run(self: Box<Self>, ctx: DestinationContext) -> Task {
        Box::pin(Worker::new(self.shared).run(ctx.queue, ctx.shutdown))
    }
}

/// The outcome of one batch, in syslog-ng's terms (`LogThreadedResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The first `n` rows are in (all of them unless an insert failed).
    Inserted(usize),
    /// `LTR_ERROR`: the rows from the `n`th on are retried up to `retries()` times.
    Error(usize),
    /// No connection: kept and tried again after `time-reopen()`.
    NotConnected,
}

struct Worker {
    shared: Arc<Shared>,
    client: Option<Connection>,
    /// Tables known to have every column (`syslogng_conform_tables`).
    conform: HashSet<String>,
    values_format: FormatOptions,
    /// The statements of a batch joined by `;` (with a transaction's `BEGIN` and `COMMIT`), and
    /// where each insert is.
    sql: String,
    statements: Vec<Range<usize>>,
    /// The table name of each row of a batch.
    tables: String,
    table_of: Vec<Range<usize>>,
    scratch: Vec<u8>,
    seq_num: u32,
    /// `LTR_ERROR`s in a row (reset by an insert that goes through, or a drop).
    errors: u32,
}

impl Worker {
    fn new(shared: Arc<Shared>) -> Worker {
        let values_format = shared.values_format.clone();
        Worker {
            shared,
            client: None,
            conform: HashSet::new(),
            values_format,
            sql: String::with_capacity(16 * 1024),
            statements: Vec::new(),
            tables: String::new(),
            table_of: Vec::new(),
            scratch: Vec::with_capacity(1024),
            seq_num: 0,
            errors: 0,
        }
    }

    async fn run(mut self, queue: Arc<DestinationQueue>, shutdown: CancellationToken) {
        let settings = self.shared.settings.clone();
        let per_batch = settings.batch_lines;
        // A transaction, or a disk buffer (which counts one take as one delivery), takes exactly
        // one batch.
        let take = if settings.explicit_commits || queue.is_persistent() { per_batch } else { CHUNK.max(per_batch) };
        let mut batch: Vec<LogMessage> = Vec::with_capacity(take);
        loop {
            if let (true, Some(timeout)) = (per_batch > 1, settings.batch_timeout) {
                let open = tokio::select! {
                    open = queue.wait_len(1) => open,
                    _ = shutdown.cancelled() => return,
                };
                if open {
                    tokio::select! {
                        _ = queue.wait_len(per_batch) => {}
                        _ = tokio::time::sleep(timeout) => {}
                        _ = shutdown.cancelled() => return,
                    }
                }
            }
            if !queue.pop(take, &mut batch).await {
                return;
            }
            while !batch.is_empty() {
                if self.client.as_ref().is_none_or(|c| !c.is_open()) && !self.connect().await {
                    queue.push_front(&mut batch);
                    if !suspend(settings.time_reopen, &shutdown).await {
                        return;
                    }
                    break;
                }
                // rsng stopping gives up an insert that hangs; the rows go back, so that a disk
                // buffer keeps them for the next run.
                let outcome = tokio::select! {
                    o = self.insert(&batch) => Some(o),
                    _ = shutdown.cancelled() => None,
                };
                let Some(outcome) = outcome else {
                    queue.push_front(&mut batch);
                    return;
                };
                match outcome {
                    Outcome::Inserted(n) => {
                        self.errors = 0;
                        queue.stats.written.fetch_add(n as u64, Ordering::Relaxed);
                        batch.clear();
                    }
                    Outcome::Error(done) => {
                        if done > 0 {
                            self.errors = 0;
                            queue.stats.written.fetch_add(done as u64, Ordering::Relaxed);
                            batch.drain(..done);
                        }
                        self.errors += 1;
                        // Without transactions each row is a batch of its own.
                        let failed = if settings.explicit_commits { batch.len() } else { 1 };
                        self.client = None;
                        if self.errors >= settings.retries {
                            threaded::dropped(&self.shared.driver, &self.shared.location, 0, self.errors, failed);
                            self.errors = 0;
                            queue.stats.discarded.fetch_add(failed as u64, Ordering::Relaxed);
                            batch.drain(..failed);
                            continue;
                        }
                        threaded::retrying(
                            &self.shared.driver,
                            &self.shared.location,
                            0,
                            self.errors,
                            settings.time_reopen,
                            failed,
                        );
                        queue.push_front(&mut batch);
                        if !suspend(settings.time_reopen, &shutdown).await {
                            return;
                        }
                        break;
                    }
                    Outcome::NotConnected => {
                        threaded::reconnecting(
                            &self.shared.driver,
                            &self.shared.location,
                            0,
                            settings.time_reopen,
                            batch.len(),
                        );
                        self.client = None;
                        queue.push_front(&mut batch);
                        if !suspend(settings.time_reopen, &shutdown).await {
                            return;
                        }
                        break;
                    }
                }
            }
            batch.clear();
        }
    }

    /// Opens the connection and runs `session-statements()`.
    async fn connect(&mut self) -> bool {
        match Connection::open(&self.shared.settings).await {
            Ok(client) => {
                self.client = Some(client);
                true
            }
            Err((error, None)) => {
                internal::error(format!(
                    "Error establishing SQL connection; {}, error='{error}', driver='{}', location='{}'",
                    self.shared.server(),
                    self.shared.driver,
                    self.shared.location
                ));
                false
            }
            Err((error, Some(statement))) => {
                self.query_failed(&error, &statement);
                internal::error(format!("Error executing SQL connection statement; statement='{statement}'"));
                false
            }
        }
    }

    /// syslog-ng's "Error running SQL query".
    fn query_failed(&self, error: &str, query: &str) {
        internal::error(format!("Error running SQL query; {}, error='{error}', query='{query}'", self.shared.server()));
    }

    /// Runs one statement, logging a failure.
    async fn run_query(&mut self, query: &str) -> bool {
        let Some(client) = &mut self.client else { return false };
        match client.execute(query).await {
            Ok(()) => true,
            Err(e) => {
                self.query_failed(&e, query);
                false
            }
        }
    }

    /// Inserts the rows of `batch`: with transactions all or none, else one by one.
    async fn insert(&mut self, batch: &[LogMessage]) -> Outcome {
        let shared = self.shared.clone();
        let s = &shared.settings;
        // The table of each row, checked before any row goes in (a check in syslog-ng commits
        // what its transaction holds, so the rows end up the same).
        self.tables.clear();
        self.table_of.clear();
        for msg in batch {
            self.scratch.clear();
            let _ = shared.table.format(msg, &shared.table_format, &mut self.scratch);
            let start = self.tables.len();
            // Any byte that is not allowed in a name becomes `_`, as in syslog-ng.
            self.tables.extend(self.scratch.iter().take_while(|&&b| b != 0).map(|&b| {
                if is_identifier_byte(b) {
                    b as char
                } else {
                    '_'
                }
            }));
            self.table_of.push(start..self.tables.len());
        }
        for i in 0..batch.len() {
            let table = &self.tables[self.table_of[i].clone()];
            if s.dont_create_tables || self.conform.contains(table) {
                continue;
            }
            let table = table.to_string();
            if self.client.as_ref().is_none_or(|c| !c.is_open()) {
                return Outcome::NotConnected;
            }
            if !self.ensure_table(&table).await {
                internal::error(format!(
                    "Error checking table, disconnecting from database, trying again shortly; time_reopen='{}'",
                    s.time_reopen.as_secs()
                ));
                return Outcome::Error(0);
            }
            self.conform.insert(table);
        }
        self.sql.clear();
        self.statements.clear();
        if s.explicit_commits {
            self.sql.push_str("BEGIN;");
        }
        for (i, msg) in batch.iter().enumerate() {
            if i > 0 {
                self.sql.push(';');
            }
            let start = self.sql.len();
            self.append_insert(msg, i);
            self.statements.push(start..self.sql.len());
        }
        if s.explicit_commits {
            self.sql.push_str(";COMMIT");
        }
        let Some(client) = &mut self.client else { return Outcome::NotConnected };
        // One round trip where the server allows it: the rows (and with transactions the commit)
        // go as one text.
        match client.run_batch(&self.sql, &self.statements, s.explicit_commits).await {
            Ok(()) => Outcome::Inserted(batch.len()),
            Err(e) => {
                let open = client.is_open();
                if s.explicit_commits {
                    self.query_failed(&e.error, &self.sql);
                    self.connection_lost(
                        open,
                        "SQL connection lost in the middle of a transaction, rewinding backlog and starting again",
                    );
                } else {
                    self.query_failed(&e.error, &self.sql[self.statements[e.done].clone()]);
                    self.connection_lost(open, "Error, no SQL connection after failed query attempt");
                }
                // Without transactions the rows before the failed one are in, and are not sent
                // again: only the failed one and those after it are kept.
                Outcome::Error(e.done)
            }
        }
    }

    fn connection_lost(&self, open: bool, text: &str) {
        if !open {
            internal::error(format!("{text}; {}, error='connection closed'", self.shared.server()));
        }
    }

    /// `INSERT INTO table (columns) VALUES (values)` for the `row`th message of the batch.
    fn append_insert(&mut self, msg: &LogMessage, row: usize) {
        let shared = self.shared.clone();
        let s = &shared.settings;
        self.sql.push_str("INSERT INTO ");
        self.sql.push_str(&self.tables[self.table_of[row].clone()]);
        self.sql.push_str(" (");
        let mut first = true;
        for (c, v) in s.columns.iter().zip(&shared.values) {
            if v.is_some() {
                if !first {
                    self.sql.push_str(", ");
                }
                first = false;
                self.sql.push_str(&c.name);
            }
        }
        self.sql.push_str(") VALUES (");
        self.seq_num = self.seq_num.wrapping_add(1).max(1);
        self.values_format.seq_num = msg.writer_seq_num(self.seq_num);
        let mut first = true;
        for template in shared.values.iter().flatten() {
            if !first {
                self.sql.push_str(", ");
            }
            first = false;
            self.scratch.clear();
            let _ = template.format(msg, &self.values_format, &mut self.scratch);
            // A C string ends at the first NUL.
            let end = self.scratch.iter().position(|&b| b == 0).unwrap_or(self.scratch.len());
            let value = &self.scratch[..end];
            if s.null_value.as_deref().is_some_and(|n| n.as_bytes() == value) {
                self.sql.push_str("NULL");
                continue;
            }
            let Some(client) = &self.client else { continue };
            match std::str::from_utf8(value) {
                Ok(text) => client.quote(&mut self.sql, text),
                Err(_) => client.quote(&mut self.sql, &String::from_utf8_lossy(value)),
            }
        }
        self.sql.push(')');
    }

    /// Makes sure `table` exists with every column: creates it (and its indexes) when missing,
    /// adds the missing columns (and their indexes) when not.
    async fn ensure_table(&mut self, table: &str) -> bool {
        let shared = self.shared.clone();
        let s = &shared.settings;
        let Some(client) = &mut self.client else { return false };
        let existing = client.columns_of(&format!("SELECT * FROM {table} WHERE 0=1")).await;
        match existing {
            Some(names) => {
                let missing: Vec<_> =
                    s.columns.iter().filter(|c| !names.iter().any(|n| n.eq_ignore_ascii_case(&c.name))).collect();
                if missing.is_empty() {
                    return true;
                }
                if !self.run_query("BEGIN").await {
                    internal::error(format!(
                        "Starting new transaction for modifying(ALTER) table has failed; table='{table}'"
                    ));
                    return false;
                }
                for c in missing {
                    if !self.run_query(&format!("ALTER TABLE {table} ADD {} {}", c.name, c.sql_type)).await {
                        internal::error(format!(
                            "Error adding missing column, giving up; table='{table}', column='{}'",
                            c.name
                        ));
                        let _ = self.run_query("ROLLBACK").await;
                        return false;
                    }
                    if s.indexes.contains(&c.name) {
                        self.create_index(table, &c.name).await;
                    }
                }
                if !self.run_query("COMMIT").await {
                    let _ = self.run_query("ROLLBACK").await;
                    return false;
                }
                true
            }
            None => {
                let mut create = format!("CREATE TABLE {table} (");
                for (i, c) in s.columns.iter().enumerate() {
                    if i > 0 {
                        create.push_str(", ");
                    }
                    create.push_str(&c.name);
                    create.push(' ');
                    create.push_str(&c.sql_type);
                }
                create.push(')');
                if let Some(append) = &s.create_statement_append {
                    create.push_str(append);
                }
                if !self.run_query("BEGIN").await {
                    internal::error(format!("Starting new transaction for table creation has failed; table='{table}'"));
                    return false;
                }
                if !self.run_query(&create).await {
                    internal::error(format!("Error creating table, giving up; table='{table}'"));
                    let _ = self.run_query("ROLLBACK").await;
                    return false;
                }
                if !self.run_query("COMMIT").await {
                    let _ = self.run_query("ROLLBACK").await;
                    return false;
                }
                if s.indexes.is_empty() {
                    return true;
                }
                if !self.run_query("BEGIN").await {
                    internal::error(format!("Starting new transaction for table creation has failed; table='{table}'"));
                    return false;
                }
                for index in &s.indexes {
                    if !self.create_index(table, index).await {
                        let _ = self.run_query("ROLLBACK").await;
                        return false;
                    }
                }
                if !self.run_query("COMMIT").await {
                    let _ = self.run_query("ROLLBACK").await;
                }
                true
            }
        }
    }

    async fn create_index(&mut self, table: &str, column: &str) -> bool {
        let ok = self.run_query(&format!("CREATE INDEX {table}_{column}_idx ON {table} ({column})")).await;
        if !ok {
            internal::error(format!("Error adding missing index; table='{table}', column='{column}'"));
        }
        ok
    }
}

/// Waits `time`; `false` when rsng stops meanwhile.
async fn suspend(time: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(time) => true,
        _ = shutdown.cancelled() => false,
    }
}
