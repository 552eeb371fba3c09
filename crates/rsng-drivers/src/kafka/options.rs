//! Reading `kafka-c()`'s options into [`Settings`], with syslog-ng 3.38's defaults: no batching,
//! one worker, `poll-timeout(1000)`, `flush-timeout-on-shutdown(60000)`,
//! `flush-timeout-on-reload(1000)`, `retries(3)`, `time-reopen(60)`.

use std::time::Duration;

use crate::options::Options;
use crate::DriverError;

/// The value template when `message()` is not given.
pub const DEFAULT_MESSAGE: &str = "$ISODATE $HOST $MSGHDR$MSG";

/// librdkafka properties that `bootstrap-servers()` sets and `config()` may not override.
pub const PROTECTED: &[&str] = &["bootstrap.servers", "metadata.broker.list"];

#[derive(Debug, Clone)]
pub struct Settings {
    pub bootstrap_servers: String,
    pub fallback_topic: Option<String>,
    /// `config()`, in the order written (a later one wins, as librdkafka sets them in turn).
    pub config: Vec<(String, String)>,
    /// `sync-send(yes)`: each batch in a transaction of its own.
    pub sync_send: bool,
    pub workers: usize,
    /// 0: no batching (a transaction per message with `sync-send(yes)`).
    pub batch_lines: usize,
    pub batch_timeout: Option<Duration>,
    pub poll_timeout: Duration,
    pub flush_timeout_on_shutdown: Duration,
    pub flush_timeout_on_reload: Duration,
    pub retries: u32,
    pub time_reopen: Duration,
}

/// Reads the settings.
///
/// # Errors
/// No `topic()` or `bootstrap-servers()`, a `config()` that is not name/value pairs.
pub fn read(opts: &Options<'_>) -> Result<Settings, DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    if opts.str("topic").is_none() {
        return Err(err("kafka: the topic() argument is required for kafka destinations".into()));
    }
    let bootstrap_servers = opts
        .str("bootstrap-servers")
        .ok_or_else(|| err("kafka: the bootstrap-servers() option is required for kafka destinations".into()))?
        .to_string();
    let mut config = Vec::new();
    for o in opts.driver.options.iter().filter(|o| o.name == "config") {
        opts.driver.note("config");
        let text = crate::options::as_str(&o.value).unwrap_or_default();
        config.extend(parse_properties(text).map_err(|e| err(format!("kafka: invalid config(): {e}")))?);
    }
    let ms = |name: &str, default: u64| Duration::from_millis(opts.int(name).map_or(default, |n| n.max(0) as u64));
    let batch_lines = opts.int("batch-lines").or_else(|| opts.int("flush-lines")).filter(|&n| n > 0);
    Ok(Settings {
        bootstrap_servers,
        fallback_topic: opts.str("fallback-topic").map(String::from),
        config,
        sync_send: opts.bool("sync-send").unwrap_or(false),
        workers: opts.int("workers").filter(|&n| n > 0).map_or(1, |n| n as usize),
        batch_lines: batch_lines.map_or(0, |n| n as usize),
        batch_timeout: opts.int("batch-timeout").filter(|&n| n > 0).map(|n| Duration::from_millis(n as u64)),
        poll_timeout: ms("poll-timeout", 1000),
        flush_timeout_on_shutdown: ms("flush-timeout-on-shutdown", 60_000),
        flush_timeout_on_reload: ms("flush-timeout-on-reload", 1000),
        retries: opts.int("retries").filter(|&n| n > 0).map_or(3, |n| n as u32),
        time_reopen: Duration::from_secs(opts.int_or_global("time-reopen").filter(|&n| n > 0).unwrap_or(60) as u64),
    })
}

/// The properties of `config()` as written: `"name" => "value"`, `"name"("value")` or
/// `"name" "value"`, names and values quoted or bare, values also numbers.
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>, String> {
    let tokens = tokenize(text)?;
    let mut out = Vec::new();
    let mut i = 0;
    let word = |t: Option<&Token>| match t {
        Some(Token::Word(w)) => Some(w.clone()),
        _ => None,
    };
    while i < tokens.len() {
        let name = word(tokens.get(i)).ok_or_else(|| format!("expected a property name at `{}`", show(&tokens[i])))?;
        let (value, used) = match tokens.get(i + 1) {
            Some(Token::Arrow) => (word(tokens.get(i + 2)), 3),
            Some(Token::Open) if matches!(tokens.get(i + 3), Some(Token::Close)) => (word(tokens.get(i + 2)), 4),
            Some(Token::Word(w)) => (Some(w.clone()), 2),
            _ => (None, 0),
        };
        let value = value.ok_or_else(|| format!("property `{name}` has no value"))?;
        out.push((name, value));
        i += used;
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Arrow,
    Open,
    Close,
}

fn show(t: &Token) -> String {
    match t {
        Token::Word(w) => w.clone(),
        Token::Arrow => "=>".into(),
        Token::Open => "(".into(),
        Token::Close => ")".into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() || c == ',' => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '=' if text[at..].starts_with("=>") => {
                chars.next();
                chars.next();
                out.push(Token::Arrow);
            }
            '"' | '\'' => {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, ch)) = chars.next() {
                    if ch == c {
                        closed = true;
                        break;
                    }
                    if ch == '\\' && c == '"' {
                        if let Some((_, e)) = chars.next() {
                            s.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => other,
                            });
                        }
                        continue;
                    }
                    s.push(ch);
                }
                if !closed {
                    return Err("unterminated string".into());
                }
                out.push(Token::Word(s));
            }
            _ => {
                let mut s = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if ch.is_whitespace() || matches!(ch, '(' | ')' | ',' | '"' | '\'') || (ch == '=' && s.is_empty()) {
                        break;
                    }
                    s.push(ch);
                    chars.next();
                }
                if s.is_empty() {
                    return Err(format!("unexpected `{c}`"));
                }
                out.push(Token::Word(s));
            }
        }
    }
    Ok(out)
}

/// Whether Kafka accepts `name` as a topic (syslog-ng's `kafka_dd_validate_topic_name`).
pub fn topic_error(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("kafka: topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Some("kafka: topic name cannot be . or ..".into());
    }
    if name.len() > 249 {
        return Some("kafka: topic name cannot be longer than 249 characters".into());
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')) {
        return Some(format!(
            "kafka: topic name {name} is illegal as it contains characters other than pattern [-._a-zA-Z0-9]+"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_in_each_form() {
        let p = parse_properties(r#""acks" => "all" "linger.ms"(5) 'client.id' "x" batch.size 100"#).unwrap();
        let want: Vec<(String, String)> =
            [("acks", "all"), ("linger.ms", "5"), ("client.id", "x"), ("batch.size", "100")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        assert_eq!(p, want);
        assert!(parse_properties(r#""acks" =>"#).is_err());
        assert!(parse_properties(r#""acks"#).is_err());
    }

    #[test]
    fn topic_names() {
        assert!(topic_error("logs.app-1_x").is_none());
        assert!(topic_error("").is_some());
        assert!(topic_error("..").is_some());
        assert!(topic_error("a b").is_some());
        assert!(topic_error(&"a".repeat(250)).is_some());
    }
}
