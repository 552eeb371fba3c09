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

/// Edit distance over characters where swapping two neighbours counts as one edit (optimal
/// string alignment), so `fiel` is one edit from `file`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
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
            ("fiel", &["file", "pipe"], Some("file"), "swapped neighbours count as one edit"),
            ("peer_verify", &["peer-verify"], Some("peer-verify"), "- and _ are equal"),
        ];
        for (input, cands, expected, reason) in cases {
            assert_eq!(did_you_mean(input, cands.iter().copied()), *expected, "{reason}");
        }
    }
}
