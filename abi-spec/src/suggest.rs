//! Name suggestions for error messages ("did you mean ...?"), shared by the
//! description's validator and the macros' checks so both suggest alike.

/// Levenshtein distance between two strings, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Case and underscores carry no meaning when comparing names across
/// conventions (`NotFound`, `NOT_FOUND`, `not_found`).
pub fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The candidate closest to `name`, if it is close enough to be a likely typo:
/// one edit for names under four characters, else two edits or a third of
/// the name's length, whichever is more.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = normalized(name);
    let length = wanted.chars().count();
    let limit = if length < 4 { 1 } else { (length / 3).max(2) };
    candidates
        .into_iter()
        .map(|c| (edit_distance(&wanted, &normalized(c)), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
