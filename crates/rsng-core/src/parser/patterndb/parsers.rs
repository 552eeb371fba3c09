//! The `@TYPE:name:param@` parsers of patterndb patterns, as syslog-ng 3.38's radix tree runs
//! them (`modules/dbparser/radix.c`): each looks at the rest of the input and says how many
//! bytes it takes, and which part of them is the value (quotes and delimiters are left out).

use pcre2::bytes::{Regex, RegexBuilder};

/// What a parser node does.
#[derive(Debug)]
pub enum Kind {
    String,
    QString {
        close: u8,
    },
    /// `@ESTRING@` with a one-byte delimiter.
    EStringChar(u8),
    /// `@ESTRING@` with a longer delimiter.
    EString(Vec<u8>),
    NlString,
    Pcre(Box<Regex>),
    AnyString,
    Set,
    OptionalSet,
    Email,
    Hostname,
    LlAddr {
        parts: usize,
    },
    MacAddr,
    Ipv4,
    Ipv6,
    IpAny,
    Float,
    Number,
}

/// One parser of a pattern, with the name it stores its value under.
#[derive(Debug)]
pub struct ParserNode {
    pub kind: Kind,
    /// The type as written in the pattern (`ESTRING`), for equality and debugging.
    pub type_name: String,
    /// The name the value is stored under; `None` or empty: not stored.
    pub name: Option<String>,
    pub param: Option<String>,
    /// The range of bytes the parser may start with.
    first: u8,
    last: u8,
}

/// A successful parse: `len` bytes taken, the value is `value_ofs..len + value_len_adj`.
#[derive(Debug, Clone, Copy)]
pub struct Taken {
    pub len: usize,
    pub value_ofs: usize,
    pub value_len_adj: isize,
}

impl Taken {
    fn whole(len: usize) -> Option<Taken> {
        Some(Taken { len, value_ofs: 0, value_len_adj: 0 })
    }
}

impl ParserNode {
    /// Builds the parser of `spec`, the text between the `@`s (`ESTRING:name: `).
    ///
    /// # Errors
    /// syslog-ng's message for an unknown type or a missing parameter.
    pub fn new(spec: &str) -> Result<ParserNode, String> {
        let mut parts = spec.splitn(3, ':');
        let type_name = parts.next().unwrap_or("");
        let name = parts.next();
        let param = parts.next();
        let (mut first, mut last) = (0u8, 255u8);
        let missing = |what: &str| format!("Missing {what} parser parameters; type='{type_name}'");
        let kind = match type_name {
            "IPv4" => {
                (first, last) = (b'0', b'9');
                Kind::Ipv4
            }
            "IPv6" => Kind::Ipv6,
            "IPvANY" => Kind::IpAny,
            "MACADDR" => Kind::MacAddr,
            "NUMBER" => {
                (first, last) = (b'-', b'9');
                Kind::Number
            }
            // DOUBLE is the old name of FLOAT.
            "FLOAT" | "DOUBLE" => {
                (first, last) = (b'-', b'9');
                Kind::Float
            }
            "STRING" => Kind::String,
            "ESTRING" => match param {
                Some(p) if p.len() > 1 => Kind::EString(p.as_bytes().to_vec()),
                Some(p) if p.len() == 1 => Kind::EStringChar(p.as_bytes()[0]),
                // An empty delimiter never matches (syslog-ng searches for its NUL).
                Some(_) => Kind::EString(Vec::new()),
                None => return Err(missing("ESTRING")),
            },
            "NLSTRING" => {
                if param.is_some() {
                    return Err("Too many arguments to NLSTRING, no 3rd parameter supported".into());
                }
                Kind::NlString
            }
            "PCRE" => {
                let Some(p) = param else {
                    return Err(format!("Missing regular expression as 3rd argument; type='{type_name}'"));
                };
                // PCRE_ANCHORED: the expression must match where the parser starts.
                let re = RegexBuilder::new().build(&format!("\\A(?:{p})")).map_err(|e| {
                    format!("Error while compiling regular expression; regular_expression='{p}', error_message='{e}'")
                })?;
                Kind::Pcre(Box::new(re))
            }
            "ANYSTRING" => Kind::AnyString,
            "SET" => {
                if param.is_none() {
                    return Err(missing("SET"));
                }
                Kind::Set
            }
            "OPTIONALSET" => {
                if param.is_none() {
                    return Err(missing("OPTIONALSET"));
                }
                Kind::OptionalSet
            }
            "EMAIL" => Kind::Email,
            "HOSTNAME" => Kind::Hostname,
            "LLADDR" => {
                let parts = match param {
                    Some(p) => {
                        p.bytes().take_while(u8::is_ascii_digit).fold(0usize, |n, d| n * 10 + usize::from(d - b'0'))
                    }
                    None => 20,
                };
                Kind::LlAddr { parts }
            }
            t if t.starts_with("QSTRING") => {
                let Some(p) = param.filter(|p| !p.is_empty()) else { return Err(missing("QSTRING")) };
                let b = p.as_bytes();
                (first, last) = (b[0], b[0]);
                let close = if b.len() == 2 { b[1] } else { b[0] };
                Kind::QString { close }
            }
            _ => return Err(format!("Unknown parser type specified; type='{type_name}'")),
        };
        Ok(ParserNode {
            kind,
            type_name: type_name.to_string(),
            name: name.map(str::to_string),
            param: param.map(str::to_string),
            first,
            last,
        })
    }

    /// Two parsers at one place of the tree are the same node when type, name and parameter
    /// agree.
    pub fn same_as(&self, other: &ParserNode) -> bool {
        self.type_name == other.type_name && self.name == other.name && self.param == other.param
    }

    /// The name the value is stored under, if any.
    /// The parser's type as `pdbtool dump` names it.
    pub fn dump_type(&self) -> &'static str {
        match self.kind {
            Kind::String => "STRING",
            Kind::QString { .. } => "QSTRING",
            Kind::EStringChar(_) | Kind::EString(_) => "ESTRING",
            Kind::NlString => "NLSTRING",
            Kind::Pcre(_) => "PCRE",
            Kind::AnyString => "ANYSTRING",
            Kind::Set => "SET",
            Kind::OptionalSet => "UNKNOWN",
            Kind::Email => "EMAIL",
            Kind::Hostname => "HOSTNAME",
            Kind::LlAddr { .. } => "LLADDR",
            Kind::MacAddr => "MACADDR",
            Kind::Ipv4 => "IPv4",
            Kind::Ipv6 => "IPv6",
            Kind::IpAny => "IP",
            Kind::Float => "FLOAT",
            Kind::Number => "NUMBER",
        }
    }

    pub fn store_name(&self) -> Option<&str> {
        self.name.as_deref().filter(|n| !n.is_empty())
    }

    /// Parses the start of `s` (the rest of the input).
    pub fn parse(&self, s: &[u8]) -> Option<Taken> {
        let c0 = s.first().copied().unwrap_or(0);
        if c0 < self.first || c0 > self.last {
            return None;
        }
        let param = self.param.as_deref().map(str::as_bytes).unwrap_or(b"");
        match &self.kind {
            Kind::String => {
                let n = s.iter().take_while(|c| c.is_ascii_alphanumeric() || param.contains(c)).count();
                (n > 0).then(|| Taken::whole(n)).flatten()
            }
            Kind::QString { close } => {
                let end = s.iter().skip(1).position(|c| c == close)? + 1;
                Some(Taken { len: end + 1, value_ofs: 1, value_len_adj: -2 })
            }
            Kind::EStringChar(d) => {
                let end = s.iter().position(|c| c == d)?;
                Some(Taken { len: end + 1, value_ofs: 0, value_len_adj: -1 })
            }
            Kind::EString(d) => {
                if d.is_empty() {
                    return None;
                }
                let end = s.windows(d.len()).position(|w| w == &d[..])?;
                Some(Taken { len: end + d.len(), value_ofs: 0, value_len_adj: -(d.len() as isize) })
            }
            Kind::NlString => {
                let mut end = s.iter().position(|&c| c == b'\n')?;
                if end >= 1 && s[end - 1] == b'\r' {
                    end -= 1;
                }
                Taken::whole(end)
            }
            Kind::Pcre(re) => {
                let m = re.find(s).ok()??;
                Taken::whole(m.end() - m.start())
            }
            Kind::AnyString => Taken::whole(s.len()),
            Kind::Set | Kind::OptionalSet => {
                let n = s.iter().take_while(|c| param.contains(c)).count();
                (n > 0 || matches!(self.kind, Kind::OptionalSet)).then(|| Taken::whole(n)).flatten()
            }
            Kind::Email => email(s, param),
            Kind::Hostname => {
                let n = hostname(s, 0)?;
                Taken::whole(n)
            }
            Kind::LlAddr { parts } => lladdr(s, *parts as isize * 3 - 1, *parts).and_then(Taken::whole),
            Kind::MacAddr => lladdr(s, 17, 6).and_then(Taken::whole),
            Kind::Ipv4 => ipv4(s).and_then(Taken::whole),
            Kind::Ipv6 => ipv6(s).and_then(Taken::whole),
            Kind::IpAny => ipv4(s).or_else(|| ipv6(s)).and_then(Taken::whole),
            Kind::Float => float(s).and_then(Taken::whole),
            Kind::Number => number(s).and_then(Taken::whole),
        }
    }
}

fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn is_host_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Labels separated by dots from `start`; at least two labels. Returns the end.
fn hostname(s: &[u8], start: usize) -> Option<usize> {
    let (mut i, mut labels) = (start, 0);
    while is_host_char(at(s, i)) {
        i += 1;
        labels += 1;
        while is_host_char(at(s, i)) {
            i += 1;
        }
        if at(s, i) == b'.' {
            i += 1;
        }
    }
    (labels >= 2).then_some(i)
}

fn email(s: &[u8], strip: &[u8]) -> Option<Taken> {
    const LOCAL: &[u8] = b"!#$%&'*+-/=?^_`{|}~.";
    let mut i = s.iter().take_while(|c| strip.contains(c)).count();
    let ofs = i;
    if at(s, i) == b'.' {
        return None;
    }
    while at(s, i).is_ascii_alphanumeric() || (i < s.len() && LOCAL.contains(&s[i])) {
        i += 1;
    }
    if (i > 0 && s[i - 1] == b'.') || at(s, i) != b'@' {
        return None;
    }
    i += 1;
    let mut end = hostname(s, i)?;
    let value_end = end;
    end += s[end..].iter().take_while(|c| strip.contains(c)).count();
    let value_len = value_end - ofs;
    Some(Taken { len: end, value_ofs: ofs, value_len_adj: value_len as isize - end as isize })
}

/// Up to `parts` hex-digit pairs separated by colons, at most `max` bytes.
fn lladdr(s: &[u8], max: isize, parts: usize) -> Option<usize> {
    let mut len = 0usize;
    for i in 1..=parts {
        if !at(s, len).is_ascii_hexdigit() || !at(s, len + 1).is_ascii_hexdigit() {
            if i > 1 {
                // Gives back the colon after the last pair.
                len -= 1;
                break;
            }
            return None;
        }
        if i == parts {
            len += 2;
        } else if at(s, len + 2) != b':' {
            len += 2;
            break;
        } else {
            len += 3;
        }
    }
    (len as isize <= max).then_some(len)
}

fn ipv4(s: &[u8]) -> Option<usize> {
    let (mut dots, mut octet, mut i) = (0, -1i32, 0usize);
    loop {
        let c = at(s, i);
        if c == b'.' {
            if octet > 255 || octet == -1 {
                return None;
            }
            if dots == 3 {
                break;
            }
            dots += 1;
            octet = -1;
        } else if c.is_ascii_digit() {
            octet = if octet == -1 { 0 } else { octet.saturating_mul(10) };
            octet = octet.saturating_add(i32::from(c - b'0'));
        } else {
            break;
        }
        i += 1;
    }
    (dots == 3 && octet <= 255 && octet != -1).then_some(i)
}

fn xdigit(c: u8) -> i64 {
    (c as char).to_digit(16).map_or(0, i64::from)
}

fn ipv6(s: &[u8]) -> Option<usize> {
    let (mut colons, mut dots, mut octet, mut digit) = (0, 0, 0i64, 16i64);
    let mut shortened = false;
    let mut i = 0usize;
    loop {
        let c = at(s, i);
        if c == b':' {
            if octet > 0xffff || (octet == -1 && shortened) {
                return None;
            }
            if colons == 7 || dots == 3 {
                break;
            }
            if digit == 10 {
                return None;
            }
            if octet == -1 {
                shortened = true;
            }
            colons += 1;
            octet = -1;
        } else if c.is_ascii_hexdigit() {
            octet = if octet == -1 { 0 } else { octet.saturating_mul(digit) };
            octet = octet.saturating_add(xdigit(c));
        } else if c == b'.' {
            if digit == 10 && octet > 255 {
                return None;
            }
            if (digit == 16 && octet > 597) || octet == -1 || colons == 7 || dots == 3 {
                break;
            }
            dots += 1;
            octet = -1;
            digit = 10;
        } else {
            break;
        }
        i += 1;
    }
    if i > 0 && s[i - 1] == b'.' {
        i -= 1;
        dots -= 1;
    } else if i > 1 && s[i - 1] == b':' && s[i - 2] != b':' {
        i -= 1;
        colons -= 1;
    }
    let bad = !(2..=7).contains(&colons)
        || (digit == 10 && octet > 255)
        || (digit == 16 && octet > 0xffff)
        || !(dots == 0 || dots == 3)
        || (!shortened && colons < 7 && dots == 0);
    (!bad).then_some(i)
}

fn digits(s: &[u8], mut i: usize) -> usize {
    while at(s, i).is_ascii_digit() {
        i += 1;
    }
    i
}

fn float(s: &[u8]) -> Option<usize> {
    let mut i = usize::from(at(s, 0) == b'-');
    i = digits(s, i);
    if at(s, i) == b'.' {
        i = digits(s, i + 1);
    }
    if i > 0 && matches!(at(s, i), b'e' | b'E') {
        i += 1;
        if at(s, i) == b'-' {
            i += 1;
        }
        i = digits(s, i);
    }
    (i > 0).then_some(i)
}

fn number(s: &[u8]) -> Option<usize> {
    let (len, min) = if s.starts_with(b"0x") || s.starts_with(b"0X") {
        (2 + s[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count(), 3)
    } else {
        let neg = usize::from(at(s, 0) == b'-');
        (digits(s, neg), 1 + neg)
    };
    (len >= min).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(spec: &str, s: &str) -> Option<(usize, String)> {
        let p = ParserNode::new(spec).expect("valid parser");
        p.parse(s.as_bytes()).map(|t| {
            let end = t.value_ofs + (t.len as isize + t.value_len_adj) as usize;
            (t.len, s[t.value_ofs..end].to_string())
        })
    }

    #[test]
    fn parsers_take_what_syslog_ng_takes() {
        assert_eq!(take("NUMBER:n", "-12x"), Some((3, "-12".into())));
        assert_eq!(take("NUMBER:n", "0x1fg"), Some((4, "0x1f".into())));
        assert_eq!(take("NUMBER:n", "-x"), None);
        assert_eq!(take("ESTRING:e: ", "ab c"), Some((3, "ab".into())));
        assert_eq!(take("ESTRING:e:->", "ab->c"), Some((4, "ab".into())));
        assert_eq!(take("QSTRING:q:'", "'a b' c"), Some((5, "a b".into())));
        assert_eq!(take("QSTRING:q:<>", "<a b> c"), Some((5, "a b".into())));
        assert_eq!(take("IPv4:ip", "10.0.0.255."), Some((10, "10.0.0.255".into())));
        assert_eq!(take("IPv4:ip", "10.0.0.256"), None);
        assert_eq!(take("IPv6:ip", "::1 x"), Some((3, "::1".into())));
        assert_eq!(take("IPv6:ip", "fe80::1:2."), Some((9, "fe80::1:2".into())));
        assert_eq!(take("MACADDR:m", "00:1a:2B:3c:4d:5e:66"), Some((17, "00:1a:2B:3c:4d:5e".into())));
        assert_eq!(take("EMAIL:e:<>", "<a.b@example.com> x"), Some((17, "a.b@example.com".into())));
        assert_eq!(take("HOSTNAME:h", "a.b-c.d x"), Some((7, "a.b-c.d".into())));
        assert_eq!(take("HOSTNAME:h", "localhost x"), None);
        assert_eq!(take("FLOAT:f", "-1.5e-3x"), Some((7, "-1.5e-3".into())));
        assert_eq!(take("SET:s: \t", "  \tx"), Some((3, "  \t".into())));
        assert_eq!(take("PCRE:p:[a-z]+[0-9]", "abc1def"), Some((4, "abc1".into())));
        assert_eq!(take("NLSTRING:n", "ab\r\ncd"), Some((2, "ab".into())));
        assert!(ParserNode::new("BOGUS:x").is_err());
        assert!(ParserNode::new("ESTRING:x").is_err());
    }
}
