//! `sql()` against syslog-ng 3.38's afsql module (libdbi with its PostgreSQL driver): both
//! daemons run the same configuration against a PostgreSQL server started here (initdb and
//! pg_ctl as the `postgres` user, in a temporary directory, on a free loopback port), each into a
//! database of its own. The tables they create (columns, types, indexes, storage options), the
//! columns they add to an existing table and the rows they insert must be the same, and a server
//! that is away for three seconds must get every row once it is back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rsng_tests::{free_tcp_ports, oracle_skipped, Daemon, RunningDaemon, TempDir};

/// A private PostgreSQL server, stopped when dropped.
struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (cargo xtask test installs the postgresql package)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().expect("an initdb under /usr/lib/postgresql")
}

/// Runs `program args` as the `postgres` user (PostgreSQL refuses to run as root).
fn as_postgres(program: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("runuser").args(["-u", "postgres", "--"]).arg(program).args(args).output().expect("runuser");
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Postgres {
    fn start(dir: &Path) -> Postgres {
        let bin = postgres_bin();
        // The server's files belong to `postgres`, in a directory it can reach.
        let data = dir.join("pg");
        std::fs::create_dir_all(&data).expect("pg dir");
        let mut p = dir.to_path_buf();
        while p.parent().is_some() {
            let _ = Command::new("chmod").arg("o+x").arg(&p).status();
            p.pop();
        }
        assert!(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&data).status().expect("chown").success());
        let d = data.to_string_lossy().to_string();
        as_postgres(&bin.join("initdb"), &["-D", &d, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        let port = free_tcp_ports(1)[0];
        let pg = Postgres { bin, data, port };
        pg.run();
        pg
    }

    fn run(&self) {
        let d = self.data.to_string_lossy().to_string();
        let opts = format!("-p {} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off", self.port);
        let log = format!("{d}/server.log");
        as_postgres(&self.bin.join("pg_ctl"), &["-D", &d, "-o", &opts, "-l", &log, "-w", "start"]);
    }

    fn stop(&self) {
        let d = self.data.to_string_lossy().to_string();
        as_postgres(&self.bin.join("pg_ctl"), &["-D", &d, "-m", "fast", "-w", "stop"]);
    }

    /// The rows of `query` in `db`, columns separated by `|`, NULL as `<null>`.
    fn query(&self, db: &str, query: &str) -> Vec<String> {
        let port = self.port.to_string();
        let out = as_postgres(
            &self.bin.join("psql"),
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", db, "-XAt", "-P", "null=<null>", "-c", query],
        );
        String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect()
    }

    fn count(&self, db: &str, table: &str) -> usize {
        let port = self.port.to_string();
        let q = format!("SELECT count(*) FROM {table}");
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", db, "-XAt", "-c", &q])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let d = self.data.to_string_lossy().to_string();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &d, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn wait_until(seconds: u64, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn send(d: &RunningDaemon, port: u16, lines: &[String]) {
    d.send_tcp(port, lines.concat().as_bytes());
}

/// The database each daemon writes to.
fn database(daemon: Daemon) -> String {
    format!("logs_{}", daemon.name().replace('-', "_"))
}

fn plain_config(input: u16, pg: u16, db: &str) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); stats-level(1); }};
source s {{ tcp(ip("127.0.0.1") port({input})); }};
destination d_plain {{ sql(type(pgsql) host("127.0.0.1") port("{pg}") username("postgres") password("x")
    database("{db}") table("messages")
    columns("datetime varchar(16)", "host varchar(32)", "program varchar(32)", "pid", "message text", "seq int")
    values("$DATE", "$HOST", "$PROGRAM", "$PID", "$MSG", "$SEQNUM")
    indexes("host", "program") null("") create-statement-append(" WITH (fillfactor=90)")); }};
destination d_tx {{ sql(type(pgsql) host("127.0.0.1") port({pg}) username("postgres") database("{db}")
    table("t_${{PROGRAM}}") columns("id serial", "msg varchar(200)", "sev")
    values(default, "${{MSG}}", "$LEVEL") flags(explicit-commits) batch-lines(3) batch-timeout(300)
    session-statements("SET search_path TO custom, public")); }};
destination d_migrate {{ sql(type(pgsql) host("127.0.0.1") port({pg}) username("postgres") database("{db}")
    table("migrate") columns("host varchar(32)", "msg", "facility varchar(10)")
    values("$HOST", "$MSG", "$FACILITY") indexes("msg")); }};
log {{ source(s); destination(d_plain); destination(d_tx); destination(d_migrate); }};
"#
    )
}

fn input_lines() -> Vec<String> {
    [
        "<13>Jan  1 00:00:00 host prog[12]: plain one",
        "<14>Jan  1 00:00:01 host prog: it's a \\ quote \"and\" more",
        "<15>Jan  1 00:00:02 other-host my-app[7]: third; DROP TABLE messages; --",
        "<11>Jan  1 00:00:03 host my-app: fourth ÁRVÍZTŰRŐ",
        "<12>Jan  1 00:00:04 host prog[99]: fifth",
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect()
}

/// What a database holds after a run: the definition of each table, its indexes and rows.
fn contents(pg: &Postgres, db: &str) -> Vec<String> {
    let mut out = Vec::new();
    let tables = pg.query(
        db,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables \
         WHERE table_schema IN ('public', 'custom') ORDER BY 1",
    );
    for t in tables {
        out.push(format!("table {t}"));
        let (schema, name) = t.split_once('.').expect("schema.table");
        out.extend(pg.query(
            db,
            &format!(
                "SELECT ordinal_position, column_name, data_type, character_maximum_length, column_default \
                 FROM information_schema.columns WHERE table_schema = '{schema}' AND table_name = '{name}' \
                 ORDER BY ordinal_position"
            ),
        ));
        out.extend(pg.query(
            db,
            &format!(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = '{schema}' AND tablename = '{name}' \
                 ORDER BY 1"
            ),
        ));
        out.extend(pg.query(
            db,
            &format!(
                "SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class c JOIN pg_namespace n \
                 ON n.oid = c.relnamespace WHERE n.nspname = '{schema}' AND c.relname = '{name}'"
            ),
        ));
        out.extend(pg.query(db, &format!("SELECT * FROM {t} ORDER BY ctid")));
    }
    out
}

/// The `processed`, `written` and `dropped` rows of the sql destinations that are not 0, with
/// the server's port as `PORT`.
fn stats_rows(dir: &Path, daemon: Daemon, port: u16, db: &str) -> Vec<String> {
    let out = Command::new("syslog-ng-ctl")
        .arg("stats")
        .arg("-c")
        .arg(dir.join(format!("{}.ctl", daemon.name())))
        .output()
        .expect("syslog-ng-ctl");
    let mut rows: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("dst.sql;"))
        .filter(|l| [";processed;", ";written;", ";dropped;"].iter().any(|k| l.contains(k)))
        .filter(|l| !l.ends_with(";0"))
        .map(|l| l.replace(&format!(",{port},"), ",PORT,").replace(db, "DB"))
        .collect();
    rows.sort();
    rows
}

fn run_plain(daemon: Daemon, dir: &Path, pg: &Postgres) -> (Vec<String>, Vec<String>) {
    let db = database(daemon);
    pg.query("postgres", &format!("CREATE DATABASE {db}"));
    pg.query(&db, "CREATE SCHEMA custom");
    // An existing table without two of the columns: they are added, with the index of one.
    pg.query(&db, "CREATE TABLE migrate (host varchar(32))");
    let (d, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| plain_config(p.tcp[0], pg.port, &db));
    let input = input_lines();
    send(&d, ports.tcp[0], &input);
    let ok = wait_until(30, || {
        pg.count(&db, "messages") >= 5
            && pg.count(&db, "migrate") >= 5
            && pg.count(&db, "custom.t_prog") >= 3
            && pg.count(&db, "custom.t_my_app") >= 2
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(ok, "{}: rows missing; stderr:\n{}", daemon.name(), d.stderr());
    let stats = stats_rows(dir, daemon, pg.port, &db);
    drop(d);
    (contents(pg, &db), stats)
}

#[test]
fn tables_and_rows_as_syslog_ng_writes_them() {
    if oracle_skipped() {
        return;
    }
    let dir = TempDir::new("sql-plain").expect("dir");
    let pg = Postgres::start(dir.path());
    let (ours, our_stats) = run_plain(Daemon::Rsng, dir.path(), &pg);
    let (theirs, their_stats) = run_plain(Daemon::Oracle, dir.path(), &pg);
    assert_eq!(ours, theirs);
    // A few facts, so that two empty databases cannot pass.
    assert!(ours.contains(&"table public.messages".to_string()), "{ours:#?}");
    assert!(ours.contains(&"table custom.t_my_app".to_string()), "{ours:#?}");
    assert!(ours.iter().any(|l| l.contains("it's a \\ quote \"and\" more")), "{ours:#?}");
    assert!(ours.iter().any(|l| l.starts_with("messages_host_idx|")), "{ours:#?}");
    assert!(ours.iter().any(|l| l.starts_with("migrate_msg_idx|")), "{ours:#?}");
    assert!(ours.contains(&"fillfactor=90".to_string()), "{ours:#?}");
    assert!(ours.iter().any(|l| l.contains("|<null>|")), "null(\"\") gives NULL: {ours:#?}");
    assert_eq!(our_stats, their_stats);
    assert!(!our_stats.is_empty());
}

fn outage_config(input: u16, pg: u16, db: &str) -> String {
    format!(
        r#"@version: 3.38
options {{ use-dns(no); time-reopen(1); }};
source s {{ tcp(ip("127.0.0.1") port({input}) log-iw-size(50)); }};
destination d {{ sql(type(pgsql) host("127.0.0.1") port("{pg}") username("postgres") database("{db}")
    table("outage") columns("n int", "msg text") values("$PID", "$MSG")
    flags(explicit-commits) batch-lines(10) batch-timeout(200) log-fifo-size(50)); }};
log {{ source(s); destination(d); flags(flow-control); }};
"#
    )
}

fn run_outage(daemon: Daemon, dir: &Path, pg: &Postgres) {
    const COUNT: usize = 400;
    let db = database(daemon);
    pg.query("postgres", &format!("CREATE DATABASE {db}"));
    let (d, ports, _) = RunningDaemon::start(daemon, dir, 0, 1, |p| outage_config(p.tcp[0], pg.port, &db));
    let input = ports.tcp[0];
    let lines: Vec<String> = (0..COUNT).map(|i| format!("<13>Jan  1 00:00:00 host prog[{i}]: m-{i}\n")).collect();
    send(&d, input, &lines[..100]);
    assert!(
        wait_until(30, || pg.count(&db, "outage") >= 100),
        "{}: before the outage; stderr:\n{}",
        daemon.name(),
        d.stderr()
    );
    pg.stop();
    // Sent while the server is away: more than the queue holds, so flow control holds the rest.
    let rest = lines[100..].concat();
    let sender = std::thread::spawn(move || {
        use std::io::Write as _;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", input)).expect("connect");
        s.write_all(rest.as_bytes()).expect("send");
    });
    std::thread::sleep(Duration::from_secs(3));
    pg.run();
    sender.join().expect("sender");
    let ok = wait_until(60, || pg.count(&db, "outage") >= COUNT);
    std::thread::sleep(Duration::from_millis(500));
    let rows = pg.query(&db, "SELECT n, count(*) FROM outage GROUP BY n ORDER BY n");
    let expected: Vec<String> = (0..COUNT).map(|i| format!("{i}|1")).collect();
    assert!(ok && rows == expected, "{}: rows {:?}; stderr:\n{}", daemon.name(), rows, d.stderr());
}

#[test]
fn a_server_away_for_three_seconds_gets_every_row_once() {
    let dir = TempDir::new("sql-outage").expect("dir");
    let pg = Postgres::start(dir.path());
    run_outage(Daemon::Rsng, dir.path(), &pg);
    if !oracle_skipped() {
        run_outage(Daemon::Oracle, dir.path(), &pg);
    }
}
