//! `tags-parser()`: the input (its `template()`, as the SCL's `ewmm-parser()` gives it
//! `${._TAGS}`) is a list in syslog-ng's comma-separated list syntax; each element becomes a
//! tag of the message. It never fails, as in syslog-ng 3.38.

use crate::message::{LogMessage, TagId};
use crate::template::eval::list::scan_next;

#[derive(Debug, Default)]
pub struct TagsParser;

impl TagsParser {
    pub fn parse(&self, msg: &mut LogMessage, input: &[u8]) -> bool {
        let mut item = Vec::new();
        let mut rest = input;
        while let Some(next) = scan_next(rest, &mut item) {
            rest = next;
            msg.set_tag(TagId::intern(&String::from_utf8_lossy(&item)));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ReceiveInfo;

    #[test]
    fn each_element_is_a_tag() {
        let mut m = LogMessage::new(&ReceiveInfo::new("s", "10.1.1.1", None, jiff::tz::TimeZone::UTC));
        assert!(TagsParser.parse(&mut m, b"a,,\"b c\",d"));
        let names: Vec<String> = m.tags().iter().filter_map(TagId::name).map(|n| n.to_string()).collect();
        for tag in ["a", "b c", "d"] {
            assert!(names.iter().any(|n| n == tag), "{tag} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.is_empty()), "{names:?}");
    }
}
