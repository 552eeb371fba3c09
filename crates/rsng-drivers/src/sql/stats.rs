//! How syslog-ng names an `sql()` destination in `syslog-ng-ctl stats`: component `dst.sql`, id
//! `OBJECT#INDEX`, instance `TYPE,HOST,PORT,DATABASE,TABLE` with the table template as written.

use super::options::SqlOptions;
use crate::options::Options;

/// `(component, id, instance)` of an `sql()` driver.
pub fn stats_name(object: &str, index: usize, opts: Options<'_>) -> (String, String, String) {
    instance_name(object, index, &SqlOptions::read(&opts))
}

/// [`stats_name`] from options already read.
pub fn instance_name(object: &str, index: usize, o: &SqlOptions) -> (String, String, String) {
    let instance = format!("{},{},{},{},{}", o.kind, o.host, o.port_text(), o.database, o.table);
    // syslog-ng formats the instance into a 64-byte buffer.
    let instance = truncate(instance, 63);
    ("dst.sql".to_string(), format!("{object}#{index}"), instance)
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}
