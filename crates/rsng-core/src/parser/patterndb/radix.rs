//! The radix tree patterndb looks patterns up in, as syslog-ng 3.38 builds and searches it
//! (`modules/dbparser/radix.c`): literal text in the edges, `@PARSER@`s as children of their
//! own kind tried in insertion order after the literal children, and a second search that takes
//! a node whose pattern ends before the input does when no pattern matches the whole input.

use super::parsers::ParserNode;

/// A node: literal text (`key`) or a parser (`parser`, no key).
#[derive(Debug, Default)]
pub struct Node {
    key: Option<Vec<u8>>,
    parser: Option<Box<ParserNode>>,
    /// What a pattern ending here leads to (an index chosen by the caller).
    pub value: Option<usize>,
    /// Literal children, sorted by their first byte (at most one per byte).
    children: Vec<Node>,
    /// Parser children, in the order they were inserted.
    pchildren: Vec<Node>,
    /// Where the pattern that made a parser node was (`file:line:col`), for duplicate warnings.
    location: String,
}

/// A value a parser took: stored under `name` as `input[ofs..ofs + len]`.
#[derive(Debug, Clone, Copy)]
pub struct Match<'t> {
    pub parser: &'t ParserNode,
    pub ofs: usize,
    pub len: usize,
}

impl Node {
    /// The root of a tree (an empty key).
    pub fn root() -> Node {
        Node { key: Some(Vec::new()), ..Node::default() }
    }

    /// Visits the tree depth first, each node before its literal children, then its parser
    /// children (the order `pdbtool dictionary` lists it in).
    pub fn walk<'a>(&'a self, visit: &mut dyn FnMut(&'a Node)) {
        visit(self);
        for child in self.children.iter().chain(&self.pchildren) {
            child.walk(visit);
        }
    }

    /// Visits the tree as [`Node::walk`] does, with each node's depth.
    pub fn walk_levels<'a>(&'a self, level: usize, visit: &mut dyn FnMut(&'a Node, usize)) {
        visit(self, level);
        for child in self.children.iter().chain(&self.pchildren) {
            child.walk_levels(level + 1, visit);
        }
    }

    /// The node's line in `pdbtool dump`, without the value: its parser (type, name and where
    /// its pattern is) and its literal text.
    pub fn dump_text(&self) -> String {
        let mut out = String::new();
        if let Some(p) = &self.parser {
            out.push_str(&format!(
                "@{}:{}@ [{}]",
                p.dump_type(),
                p.name.as_deref().filter(|n| !n.is_empty()).unwrap_or("None"),
                self.location
            ));
        }
        out.push_str(&format!("'{}' ", String::from_utf8_lossy(self.key.as_deref().unwrap_or(b""))));
        out
    }

    /// The name the node's parser stores its value under, if it is a parser that stores one.
    pub fn parser_name(&self) -> Option<&str> {
        self.parser.as_ref().and_then(|p| p.store_name())
    }

    fn literal(key: &[u8], value: Option<usize>) -> Node {
        Node { key: Some(key.to_vec()), value, ..Node::default() }
    }

    /// syslog-ng's key length: -1 for a parser node.
    fn keylen(&self) -> isize {
        self.key.as_ref().map_or(-1, |k| k.len() as isize)
    }

    fn key(&self) -> &[u8] {
        self.key.as_deref().unwrap_or(b"")
    }

    fn add_child(&mut self, child: Node) {
        let first = child.key().first().copied();
        let at = self.children.partition_point(|c| c.key().first().copied() <= first);
        self.children.insert(at, child);
    }

    fn child_by_first(&self, c: u8) -> Option<usize> {
        self.children.binary_search_by(|n| n.key().first().copied().unwrap_or(0).cmp(&c)).ok()
    }

    /// Adds `key` (a pattern) leading to `value`. Problems (an unknown parser, a duplicate
    /// pattern) are reported in `warnings` and leave the pattern out, as syslog-ng does.
    pub fn insert(&mut self, key: &[u8], value: usize, location: &str, warnings: &mut Vec<String>) {
        if key.first() == Some(&b'@') {
            self.insert_at_sign(key, value, location, warnings);
            return;
        }
        let nodelen = self.keylen();
        let mut i = 0usize;
        while i < key.len() && (i as isize) < nodelen {
            if key[i] != self.key()[i] || key[i] == b'@' {
                break;
            }
            i += 1;
        }
        let (ii, keylen) = (i as isize, key.len() as isize);
        if nodelen == 0 || i == 0 || (ii < keylen && ii >= nodelen) {
            let c = key.get(i).copied().unwrap_or(0);
            match self.child_by_first(c) {
                Some(_) if c == b'@' => self.insert(&key[i..], value, location, warnings),
                Some(n) => self.children[n].insert(&key[i..], value, location, warnings),
                None => self.add_child_check(&key[i..], value, location, warnings),
            }
        } else if ii == keylen && ii == nodelen {
            if self.value.is_none() {
                self.value = Some(value);
            } else {
                warnings.push(format!(
                    "Duplicate key in radix tree; key='{}', location='{location}'",
                    String::from_utf8_lossy(key)
                ));
            }
        } else if i > 0 && ii < nodelen {
            // Splits this node at `i`.
            let value_here = self.value.take();
            let mut old = Node::literal(&self.key()[i..], value_here);
            old.children = std::mem::take(&mut self.children);
            old.pchildren = std::mem::take(&mut self.pchildren);
            self.key = Some(self.key()[..i].to_vec());
            self.add_child(old);
            if i < key.len() {
                self.add_child_check(&key[i..], value, location, warnings);
            } else {
                self.value = Some(value);
            }
        } else {
            self.add_child_check(&key[i..], value, location, warnings);
        }
    }

    fn insert_at_sign(&mut self, key: &[u8], value: usize, location: &str, warnings: &mut Vec<String>) {
        if key.len() >= 2 && key[1] == b'@' {
            // `@@`: a literal `@`.
            let n = match self.child_by_first(b'@') {
                Some(n) => {
                    if key.len() == 2 {
                        if self.children[n].value.is_none() {
                            self.children[n].value = Some(value);
                        } else {
                            warnings
                                .push(format!("Duplicate key in parser radix tree; key='@', location='{location}'"));
                        }
                    }
                    n
                }
                None => {
                    self.add_child(Node::literal(b"@", (key.len() == 2).then_some(value)));
                    self.child_by_first(b'@').unwrap_or(0)
                }
            };
            if key.len() > 2 {
                self.children[n].insert(&key[2..], value, location, warnings);
            }
            return;
        }
        let Some(end) = key.iter().skip(1).position(|&c| c == b'@').map(|p| p + 1) else {
            warnings.push(format!(
                "Key contains '@' without escaping; key='{}', location='{location}'",
                String::from_utf8_lossy(key)
            ));
            return;
        };
        let spec = String::from_utf8_lossy(&key[1..end]);
        let parser = match ParserNode::new(&spec) {
            Ok(p) => p,
            Err(e) => {
                warnings.push(format!("{e}; location='{location}'"));
                return;
            }
        };
        let n = match self.pchildren.iter().position(|c| c.parser.as_ref().is_some_and(|p| p.same_as(&parser))) {
            Some(n) => n,
            None => {
                self.pchildren.push(Node {
                    key: None,
                    parser: Some(Box::new(parser)),
                    location: location.to_string(),
                    ..Node::default()
                });
                self.pchildren.len() - 1
            }
        };
        let child = &mut self.pchildren[n];
        if end < key.len() - 1 {
            child.insert(&key[end + 1..], value, location, warnings);
        } else if child.value.is_none() {
            child.value = Some(value);
        } else {
            let p = child.parser.as_ref().map(|p| (p.type_name.clone(), p.name.clone().unwrap_or_default()));
            let (t, name) = p.unwrap_or_default();
            warnings.push(format!(
                "Duplicate parser node in radix tree; type='{t}', name='{name}', location='{location}', \
                 other-location='{}'",
                child.location
            ));
        }
    }

    fn add_child_check(&mut self, key: &[u8], value: usize, location: &str, warnings: &mut Vec<String>) {
        match key.iter().position(|&c| c == b'@') {
            Some(0) => self.insert(key, value, location, warnings),
            Some(at) => {
                self.add_child(Node::literal(&key[..at], None));
                let n = self.child_by_first(key[0]).unwrap_or(0);
                self.children[n].insert(&key[at..], value, location, warnings);
            }
            None => self.add_child(Node::literal(key, Some(value))),
        }
    }

    /// Finds the pattern `input` matches: its value and what its parsers took.
    pub fn find<'t>(&'t self, input: &[u8], matches: &mut Vec<Match<'t>>) -> Option<usize> {
        let mut state = Search { input, require_complete: true, partial_found: false, matches, all: None };
        let base = state.matches.len();
        if let Some(v) = state.find(self, 0) {
            return Some(v);
        }
        state.matches.truncate(base);
        if state.partial_found {
            state.require_complete = false;
            return state.find(self, 0);
        }
        None
    }

    /// Every node the whole of `input` leads to (for `pdbtool test`'s conflict check); a node
    /// without a value ends the list, as in syslog-ng.
    pub fn find_all(&self, input: &[u8]) -> Vec<usize> {
        let mut matches = Vec::new();
        let mut all = Vec::new();
        let mut state =
            Search { input, require_complete: true, partial_found: false, matches: &mut matches, all: Some(&mut all) };
        state.find(self, 0);
        all.into_iter().map_while(|v| v).collect()
    }
}

struct Search<'a, 't> {
    input: &'a [u8],
    require_complete: bool,
    partial_found: bool,
    matches: &'a mut Vec<Match<'t>>,
    all: Option<&'a mut Vec<Option<usize>>>,
}

impl<'t> Search<'_, 't> {
    fn find(&mut self, node: &'t Node, pos: usize) -> Option<usize> {
        let key = &self.input[pos..];
        let (mut inlen, mut rlen) = (0usize, 0usize);
        let nkey = node.key();
        if node.keylen() >= 1 {
            while inlen < key.len() && rlen < nkey.len() {
                // A CR of the input before a newline of the pattern is skipped.
                if key[inlen] == b'\r' && nkey[rlen] == b'\n' {
                    inlen += 1;
                }
                if key.get(inlen).copied().unwrap_or(0) != nkey[rlen] {
                    break;
                }
                inlen += 1;
                rlen += 1;
            }
        }
        if inlen == key.len() && (rlen as isize == node.keylen() || node.keylen() == -1) {
            if let Some(all) = self.all.as_deref_mut() {
                all.push(node.value);
                return None;
            }
            return node.value;
        }
        if node.keylen() < 1 || (inlen < key.len() && rlen as isize >= node.keylen()) {
            let mut rest = pos + inlen;
            if self.input[rest..].starts_with(b"\r\n") {
                rest += 1;
            }
            let c = self.input.get(rest).copied().unwrap_or(0);
            let mut ret = node.child_by_first(c).and_then(|n| self.find(&node.children[n], rest));
            if ret.is_none() {
                ret = self.find_by_parser(node, pos + inlen);
            }
            if ret.is_none() && node.value.is_some() {
                if !self.require_complete {
                    return node.value;
                }
                self.partial_found = true;
            }
            return ret;
        }
        None
    }

    fn find_by_parser(&mut self, node: &'t Node, pos: usize) -> Option<usize> {
        let slot = self.matches.len();
        for child in &node.pchildren {
            let Some(parser) = child.parser.as_deref() else { continue };
            self.matches.truncate(slot);
            // A placeholder keeps this level's place while the deeper levels add theirs.
            self.matches.push(Match { parser, ofs: 0, len: 0 });
            let Some(taken) = parser.parse(&self.input[pos..]) else { continue };
            if let Some(v) = self.find(child, pos + taken.len) {
                let len = (taken.len as isize + taken.value_len_adj).max(0) as usize;
                self.matches[slot] = Match { parser, ofs: pos + taken.value_ofs, len };
                return Some(v);
            }
        }
        self.matches.truncate(slot);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(patterns: &[&str]) -> Node {
        let mut root = Node::root();
        let mut warnings = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            root.insert(p.as_bytes(), i, "t", &mut warnings);
        }
        assert!(warnings.is_empty(), "{warnings:?}");
        root
    }

    fn lookup(root: &Node, s: &str) -> Option<(usize, Vec<(String, String)>)> {
        let mut m = Vec::new();
        root.find(s.as_bytes(), &mut m).map(|v| {
            let vals = m
                .iter()
                .filter_map(|m| m.parser.store_name().map(|n| (n.to_string(), s[m.ofs..m.ofs + m.len].to_string())))
                .collect();
            (v, vals)
        })
    }

    #[test]
    fn literals_before_parsers_and_partial_matches() {
        let t = tree(&["user @STRING:u@ logged in", "user root logged in", "port @NUMBER:p@", "abc"]);
        assert_eq!(lookup(&t, "user root logged in").map(|r| r.0), Some(1));
        assert_eq!(lookup(&t, "user bob logged in"), Some((0, vec![("u".into(), "bob".into())])));
        assert_eq!(lookup(&t, "port 22"), Some((2, vec![("p".into(), "22".into())])));
        // A pattern that ends before the input still matches when nothing matches all of it.
        assert_eq!(lookup(&t, "abcdef").map(|r| r.0), Some(3));
        assert_eq!(lookup(&t, "xyz"), None);
        let t = tree(&["a @@ b", "a @ESTRING:x: @@@ c"]);
        assert_eq!(lookup(&t, "a @ b").map(|r| r.0), Some(0));
        assert_eq!(lookup(&t, "a q @ c"), Some((1, vec![("x".into(), "q".into())])));
    }
}
