//! Plain-text tables for the terminal: columns as wide as their widest cell, numbers
//! right-aligned, a cell coloured only after it is padded (escapes have no width).

use super::out::{self, Paint};

pub struct Table {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings; a heading that starts with `>` is
    /// right-aligned (the `>` is not shown).
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header
                .iter()
                .map(|h| h.trim_start_matches('>').to_string())
                .collect(),
            right: header.iter().map(|h| h.starts_with('>')).collect(),
            rows: vec![],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The lines, each indented; `style` may colour a cell by its column and text.
    pub fn lines(&self, indent: &str, style: impl Fn(usize, &str) -> Option<Paint>) -> Vec<String> {
        let width = |col: usize| {
            std::iter::once(&self.header)
                .chain(&self.rows)
                .filter_map(|r| r.get(col))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.header.len()).map(width).collect();
        let line = |cells: &[String], head: bool| {
            let mut s = String::from(indent);
            for (i, w) in widths.iter().enumerate() {
                let c = cells.get(i).map(String::as_str).unwrap_or("");
                let padded = if self.right[i] {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                };
                let painted = match (head, style(i, c)) {
                    (true, _) => out::paint(Paint::Bold, &padded),
                    (false, Some(p)) => out::paint(p, &padded),
                    (false, None) => padded,
                };
                if i > 0 {
                    s.push_str("  ");
                }
                s.push_str(&painted);
            }
            s.trim_end().to_string()
        };
        std::iter::once(line(&self.header, true))
            .chain(self.rows.iter().map(|r| line(r, false)))
            .collect()
    }

    /// Prints the table on stdout.
    pub fn print(&self, indent: &str, style: impl Fn(usize, &str) -> Option<Paint>) {
        for l in self.lines(indent, style) {
            outln!("{l}");
        }
    }
}

/// A number with four significant digits, no float noise; `–` when absent.
pub fn num(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(0.0) => "0".into(),
        Some(x) if !x.is_finite() => format!("{x}"),
        Some(x) if x.abs() < 1e-4 => format!("{x:.2e}"),
        Some(x) => {
            let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
            let s = format!("{x:.digits$}");
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            }
        }
    }
}

/// A relative change as a signed percentage (`+12.5%`); `–` when absent.
pub fn pct(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(x) => format!("{:+.1}%", x * 100.0),
    }
}

/// An interval `[lo, hi]`; `–` when absent.
pub fn interval(x: Option<(f64, f64)>) -> String {
    match x {
        None => "–".into(),
        Some((lo, hi)) => format!("[{}, {}]", num(Some(lo)), num(Some(hi))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_numbers_read() {
        let mut t = Table::new(&["metric", ">baseline", "verdict"]);
        t.row(vec!["efficiency".into(), num(Some(0.68123)), "pass".into()]);
        t.row(vec!["x".into(), num(Some(12.0)), "fail".into()]);
        let l = t.lines("  ", |_, _| None);
        assert_eq!(l[0], "  metric      baseline  verdict");
        assert_eq!(l[1], "  efficiency    0.6812  pass");
        assert_eq!(l[2], "  x                 12  fail");
        assert_eq!(num(Some(1234.5678)), "1235");
        assert_eq!(num(Some(-0.0123456)), "-0.01235");
        assert_eq!(num(Some(0.00000005)), "5.00e-8");
        assert_eq!(pct(Some(0.125)), "+12.5%");
        assert_eq!(interval(Some((-0.01, 0.2))), "[-0.01, 0.2]");
    }
}
