//! Results: one record per contender and case, printed as markdown tables and written as JSON.

use std::fmt::Write as _;

/// One measured contender in one case.
#[derive(Debug, Clone)]
pub struct Record {
    /// The comparison (parse, encode, end to end, fan-out).
    pub section: String,
    /// The case within the section (corpus and chunk size, subscriber count, ...).
    pub case: String,
    /// Who was measured.
    pub contender: String,
    /// Named figures, in column order.
    pub metrics: Vec<(String, Metric)>,
    /// `ok`, or what was wrong with the contender's output.
    pub check: String,
    /// Anything the reader must know about this row.
    pub note: String,
}

/// One figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A plain number, printed with three significant digits.
    Value(f64),
    /// Not measured for this contender.
    Missing,
}

impl Record {
    /// A record without figures yet.
    #[must_use]
    pub fn new(section: &str, case: &str, contender: &str) -> Self {
        Self {
            section: section.to_owned(),
            case: case.to_owned(),
            contender: contender.to_owned(),
            metrics: Vec::new(),
            check: "ok".to_owned(),
            note: String::new(),
        }
    }

    /// Adds a figure.
    #[must_use]
    pub fn metric(mut self, name: &str, value: f64) -> Self {
        self.metrics.push((name.to_owned(), Metric::Value(value)));
        self
    }

    /// The value of a figure.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find_map(|(n, m)| match m {
            Metric::Value(v) if n == name => Some(*v),
            _ => None,
        })
    }
}

/// A number with three significant digits, and a thousands-friendly form for large values.
#[must_use]
pub fn format_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e9 {
        format!("{:.2} G", value / 1e9)
    } else if magnitude >= 1e6 {
        format!("{:.2} M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.1} k", value / 1e3)
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The records as markdown: one table per section, in order of first appearance.
#[must_use]
pub fn markdown(records: &[Record]) -> String {
    let mut sections: Vec<&str> = Vec::new();
    for record in records {
        if !sections.contains(&record.section.as_str()) {
            sections.push(&record.section);
        }
    }
    let mut out = String::new();
    for section in sections {
        let rows: Vec<&Record> = records.iter().filter(|r| r.section == section).collect();
        let mut columns: Vec<&str> = Vec::new();
        for record in &rows {
            for (name, _) in &record.metrics {
                if !columns.contains(&name.as_str()) {
                    columns.push(name);
                }
            }
        }
        let _ = writeln!(out, "\n### {section}\n");
        let _ = write!(out, "| case | contender |");
        for column in &columns {
            let _ = write!(out, " {column} |");
        }
        let _ = writeln!(out, " check | note |");
        let _ = write!(out, "|---|---|");
        for _ in &columns {
            let _ = write!(out, "---:|");
        }
        let _ = writeln!(out, "---|---|");
        for record in rows {
            let _ = write!(out, "| {} | {} |", record.case, record.contender);
            for column in &columns {
                let cell = record
                    .metrics
                    .iter()
                    .find(|(name, _)| name == column)
                    .map_or(String::new(), |(_, metric)| match metric {
                        Metric::Value(v) => format_number(*v),
                        Metric::Missing => "–".to_owned(),
                    });
                let _ = write!(out, " {cell} |");
            }
            let check = if record.check == "ok" {
                "ok".to_owned()
            } else {
                format!("**WRONG: {}**", record.check)
            };
            let _ = writeln!(out, " {check} | {} |", record.note);
        }
    }
    out
}

/// The records as a JSON array.
#[must_use]
pub fn json(records: &[Record]) -> serde_json::Value {
    let rows = records
        .iter()
        .map(|record| {
            let metrics: serde_json::Map<String, serde_json::Value> = record
                .metrics
                .iter()
                .map(|(name, metric)| {
                    let value = match metric {
                        Metric::Value(v) => serde_json::json!(v),
                        Metric::Missing => serde_json::Value::Null,
                    };
                    (name.clone(), value)
                })
                .collect();
            serde_json::json!({
                "section": record.section,
                "case": record.case,
                "contender": record.contender,
                "metrics": metrics,
                "check": record.check,
                "note": record.note,
            })
        })
        .collect();
    serde_json::Value::Array(rows)
}

/// The median of some measurements (0 for none).
#[must_use]
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The `p` quantile (0 to 1) of sorted values, nearest rank (0 for none).
#[must_use]
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}
