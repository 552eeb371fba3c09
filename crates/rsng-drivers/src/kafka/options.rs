//! Reading `kafka-c()`'s options into [`Settings`], with syslog-ng 3.38's defaults: no batching,
//! one worker, `poll-timeout(1000)`, `flush-timeout-on-shutdown(60000)`,
//! `flush-timeout-on-reload(1000)`, `retries(3)`, `time-reopen(60)`.

use std::time::Duration;

use crate::options::Options;
use crate::DriverError;

/// The value template when `message()` is not given.
pub const DEFAULT_MESSAGE: &str = "$ISODATE $HOST $MSGHDR$MSG";

/// The option of librdkafka properties, read besides [`KafkaOptions`].
pub const CONFIG: &str = "config";

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

crate::typed_options! {
    /// What `kafka-c()` reads, with syslog-ng 3.38's defaults (times in milliseconds).
    pub struct KafkaOptions {
        driver {
            /// A template; a name that is not literal needs `fallback-topic()`.
            pub topic: String = "topic";
            pub fallback_topic: String = "fallback-topic";
            pub bootstrap_servers: String = "bootstrap-servers";
            /// Templates of the record's key and value.
            pub key: String = "key";
            pub message: String = "message" or (DEFAULT_MESSAGE.to_string());
            /// Each batch in a transaction of its own.
            pub sync_send: bool = "sync-send" or (false);
            pub workers: usize = "workers" if (|&n| n > 0) or (1);
            /// `flush-lines()` is the older name of `batch-lines()`.
            pub batch_lines: usize = "batch-lines" if (|&n| n > 0);
            pub flush_lines: usize = "flush-lines" if (|&n| n > 0);
            pub batch_timeout: u64 = "batch-timeout" if (|&n| n > 0);
            pub poll_timeout: u64 = "poll-timeout" or (1000);
            pub flush_timeout_on_shutdown: u64 = "flush-timeout-on-shutdown" or (60_000);
            pub flush_timeout_on_reload: u64 = "flush-timeout-on-reload" or (1000);
            pub retries: u32 = "retries" if (|&n| n > 0) or (3);
            /// Names the transactional id with `sync-send(yes)`.
            pub persist_name: String = "persist-name";
            /// Whether the queue is a disk buffer (one worker then).
            pub disk_buffer: rsng_config::ir::Value = "disk-buffer";
        }
        inherited {
            /// Seconds to wait before trying again after an error.
            pub time_reopen: u64 = "time-reopen" if (|&n| n > 0) or (60);
        }
        global {}
    }
}

/// Reads the settings.
///
/// # Errors
/// No `topic()` or `bootstrap-servers()`, a `config()` that is not name/value pairs.
pub fn read(opts: &Options<'_>, o: &KafkaOptions) -> Result<Settings, DriverError> {
    let err = |m: String| DriverError::new(m, opts.span());
    if o.topic.is_none() {
        return Err(err("kafka: the topic() argument is required for kafka destinations".into()));
    }
    let bootstrap_servers = o
        .bootstrap_servers
        .clone()
        .ok_or_else(|| err("kafka: the bootstrap-servers() option is required for kafka destinations".into()))?;
    // `config()`: librdkafka properties, each occurrence's text as written.
    let mut config = Vec::new();
    for value in opts.values(CONFIG) {
        let text = crate::options::as_str(&value.value).unwrap_or_default();
        config.extend(parse_properties(text).map_err(|e| err(format!("kafka: invalid config(): {e}")))?);
    }
    Ok(Settings {
        bootstrap_servers,
        fallback_topic: o.fallback_topic.clone(),
        config,
        sync_send: o.sync_send,
        workers: o.workers,
        batch_lines: o.batch_lines.or(o.flush_lines).unwrap_or(0),
        batch_timeout: o.batch_timeout.map(Duration::from_millis),
        poll_timeout: Duration::from_millis(o.poll_timeout),
        flush_timeout_on_shutdown: Duration::from_millis(o.flush_timeout_on_shutdown),
        flush_timeout_on_reload: Duration::from_millis(o.flush_timeout_on_reload),
        retries: o.retries,
        time_reopen: Duration::from_secs(o.time_reopen),
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
