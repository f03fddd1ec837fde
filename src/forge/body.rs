//! The parts of a pull request the tool owns: a marked section of the body (everything
//! outside it is a human's and is kept byte for byte) and a hidden key on each comment,
//! so a comment is posted once however often a cycle is redone.

/// Opens the section of the body the tool owns.
pub const SECTION_BEGIN: &str =
    "<!-- improve:begin (this section is rewritten by improve; edit outside it) -->";
/// Closes it.
pub const SECTION_END: &str = "<!-- improve:end -->";
/// What both markers start with; never allowed inside the section's own text.
const MARKER_STEM: &str = "<!-- improve:";

/// `body` with the tool's section replaced by `section`, or appended when the body has
/// none (a body a human wrote, or one whose markers a human removed). Text outside the
/// section is kept exactly.
pub fn splice_section(body: &str, section: &str) -> String {
    // The tool's text cannot forge a marker and so cannot move the section's bounds.
    let section = section.replace(MARKER_STEM, "&lt;!-- improve:");
    let block = format!("{SECTION_BEGIN}\n{}\n{SECTION_END}", section.trim_end());
    match find_section(body) {
        Some((start, end)) => format!("{}{block}{}", &body[..start], &body[end..]),
        None if body.trim().is_empty() => block,
        None => format!("{}\n\n{block}\n", body.trim_end()),
    }
}

/// Byte range of the section, markers included: the last begin marker that an end
/// marker follows, to the first end marker after it (a stray begin marker a human left
/// above cannot swallow the text between).
fn find_section(body: &str) -> Option<(usize, usize)> {
    let begins: Vec<usize> = body.match_indices(SECTION_BEGIN).map(|(i, _)| i).collect();
    begins.iter().rev().find_map(|&b| {
        let from = b + SECTION_BEGIN.len();
        body[from..]
            .find(SECTION_END)
            .map(|e| (b, from + e + SECTION_END.len()))
    })
}

/// The text between the markers, if the body has a section.
pub fn section_of(body: &str) -> Option<&str> {
    let (b, e) = find_section(body)?;
    Some(body[b + SECTION_BEGIN.len()..e - SECTION_END.len()].trim_matches('\n'))
}

/// The hidden first line of a comment posted for `key` (e.g. `P-0007:deployed:D-3`).
pub fn comment_marker(key: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-' | '/') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("<!-- improve:event {key} -->")
}

/// True when `comment` was posted for `key`.
pub fn has_comment_marker(comment: &str, key: &str) -> bool {
    comment.contains(&comment_marker(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_text_around_the_section_is_kept() {
        let first = splice_section("", "v1");
        assert_eq!(first, format!("{SECTION_BEGIN}\nv1\n{SECTION_END}"));
        let edited = format!("Human intro.\n\n{first}\n\nHuman notes: keep me.\n");
        let second = splice_section(&edited, "v2\nline");
        assert!(second.starts_with("Human intro.\n\n"), "{second}");
        assert!(second.ends_with("\n\nHuman notes: keep me.\n"), "{second}");
        assert_eq!(section_of(&second), Some("v2\nline"));
        // Idempotent.
        assert_eq!(splice_section(&second, "v2\nline"), second);
    }

    #[test]
    fn a_body_without_markers_gets_the_section_appended() {
        let out = splice_section("A human wrote this PR.", "ours");
        assert!(out.starts_with("A human wrote this PR.\n\n"), "{out}");
        assert_eq!(section_of(&out), Some("ours"));
    }

    #[test]
    fn a_stray_begin_marker_does_not_swallow_human_text() {
        let body = format!("{SECTION_BEGIN}\nhuman kept this\n");
        let once = splice_section(&body, "ours");
        assert!(once.contains("human kept this"), "{once}");
        let twice = splice_section(&once, "ours again");
        assert!(twice.contains("human kept this"), "{twice}");
        assert_eq!(section_of(&twice), Some("ours again"));
    }

    #[test]
    fn the_section_cannot_forge_its_own_markers() {
        let hostile = format!("x {SECTION_END} y {SECTION_BEGIN}");
        let out = splice_section("human", &hostile);
        assert_eq!(out.matches(SECTION_END).count(), 1, "{out}");
        assert_eq!(out.matches(SECTION_BEGIN).count(), 1, "{out}");
        assert!(out.starts_with("human"));
    }

    #[test]
    fn comment_keys_are_hidden_and_matched_exactly() {
        let m = comment_marker("P-0007:deployed:D-3");
        assert_eq!(m, "<!-- improve:event P-0007:deployed:D-3 -->");
        assert!(has_comment_marker(
            &format!("{m}\nDeployed."),
            "P-0007:deployed:D-3"
        ));
        assert!(!has_comment_marker(
            &format!("{m}\n"),
            "P-0007:deployed:D-4"
        ));
        // Nothing in a key can close the HTML comment early.
        assert_eq!(comment_marker("a --> b"), "<!-- improve:event a_--__b -->");
    }
}
