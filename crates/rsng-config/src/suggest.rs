//! "Did you mean" suggestions, following rustc's rule: a candidate within an edit distance of a
//! third of the input's length.

/// The closest candidate to `input`, if any is close enough. `-` and `_` count as equal.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let norm = |s: &str| s.replace('_', "-").to_ascii_lowercase();
    let input_n = norm(input);
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(&input_n, &norm(c)), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggestions() {
        // (input, candidates, expected, reason)
        let cases: &[(&str, &[&str], Option<&str>, &str)] = &[
            ("keep_host_name", &["keep-hostname", "chain-hostnames"], Some("keep-hostname"), "one extra separator"),
            ("prt", &["port", "ip"], Some("port"), "one missing letter"),
            ("xyz", &["port", "ip"], None, "nothing close"),
            ("peer_verify", &["peer-verify"], Some("peer-verify"), "- and _ are equal"),
        ];
        for (input, cands, expected, reason) in cases {
            assert_eq!(did_you_mean(input, cands.iter().copied()), *expected, "{reason}");
        }
    }
}
