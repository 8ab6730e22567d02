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
    let mut out = String::new();
    for section in sections(records) {
        let rows: Vec<&Record> = records.iter().filter(|r| r.section == section).collect();
        let columns = columns(&rows);
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

/// Text with `&`, `<`, `>` and `"` escaped for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a figure is a ratio, drawn as a bar chart in [`html`].
fn is_ratio(name: &str) -> bool {
    name.contains('÷') || name.starts_with("of the ")
}

/// The sections of `records`, in order of first appearance.
fn sections(records: &[Record]) -> Vec<&str> {
    let mut sections: Vec<&str> = Vec::new();
    for record in records {
        if !sections.contains(&record.section.as_str()) {
            sections.push(&record.section);
        }
    }
    sections
}

/// The figures' names of `rows`, in order of first appearance.
fn columns<'a>(rows: &[&'a Record]) -> Vec<&'a str> {
    let mut columns: Vec<&str> = Vec::new();
    for record in rows {
        for (name, _) in &record.metrics {
            if !columns.contains(&name.as_str()) {
                columns.push(name);
            }
        }
    }
    columns
}

/// One bar chart: a bar per row with a value, on a log scale with a line at 1.
fn svg_chart(out: &mut String, title: &str, bars: &[(&str, f64, bool)]) {
    const LABEL: f64 = 430.0;
    const WIDTH: f64 = 900.0;
    const ROW: f64 = 20.0;
    let values = bars.iter().map(|&(_, v, _)| v).filter(|v| *v > 0.0);
    let max = values
        .clone()
        .fold(1.0_f64, f64::max)
        .log10()
        .ceil()
        .max(0.5);
    let min = values.fold(1.0_f64, f64::min).log10().floor().min(-0.5);
    let x = |v: f64| LABEL + (v.log10() - min) / (max - min) * (WIDTH - LABEL - 60.0);
    let height = ROW * bars.len() as f64 + 34.0;
    let _ = writeln!(
        out,
        r#"<figure><figcaption>{}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img">"#,
        escape(title)
    );
    for (i, &(label, value, ok)) in bars.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">{}</text>"#,
            LABEL - 6.0,
            y + 13.0,
            escape(label)
        );
        if !(value > 0.0 && value.is_finite()) {
            continue;
        }
        let (from, to) = (x(1.0).min(x(value)), x(1.0).max(x(value)));
        let fill = match (ok, value >= 1.0) {
            (false, _) => "#c0392b",
            (true, true) => "#2e86c1",
            (true, false) => "#a9cce3",
        };
        let _ = writeln!(
            out,
            r#"<rect x="{from:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
            y + 2.0,
            (to - from).max(1.0),
            ROW - 6.0,
            to + 4.0,
            y + 13.0,
            format_number(value)
        );
    }
    let axis = 4.0 + ROW * bars.len() as f64;
    let _ = writeln!(
        out,
        r##"<line x1="{0:.1}" y1="0" x2="{0:.1}" y2="{axis:.1}" stroke="#333"/>"##,
        x(1.0)
    );
    let mut decade = min;
    while decade <= max {
        let value = 10_f64.powf(decade);
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#555">{}×</text>"##,
            x(value),
            axis + 14.0,
            format_number(value)
        );
        decade += 1.0;
    }
    let _ = writeln!(out, "</svg></figure>");
}

/// One section's records as an HTML table.
fn html_table(out: &mut String, rows: &[&Record]) {
    let columns = columns(rows);
    let _ = write!(out, "<table><tr><th>case</th><th>contender</th>");
    for column in &columns {
        let _ = write!(out, "<th>{}</th>", escape(column));
    }
    let _ = writeln!(out, "<th>check</th><th>note</th></tr>");
    for record in rows {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>",
            escape(&record.case),
            escape(&record.contender)
        );
        for column in &columns {
            let cell = match record.metrics.iter().find(|(name, _)| name == column) {
                Some((_, Metric::Value(v))) => format_number(*v),
                Some((_, Metric::Missing)) => "–".to_owned(),
                None => String::new(),
            };
            let _ = write!(out, "<td class=n>{cell}</td>");
        }
        let check = if record.check == "ok" {
            "ok".to_owned()
        } else {
            format!("<b>WRONG: {}</b>", escape(&record.check))
        };
        let _ = writeln!(
            out,
            "<td>{check}</td><td>{}</td></tr>",
            escape(&record.note.replace("**", ""))
        );
    }
    let _ = writeln!(out, "</table>");
}

/// The records as one self-contained HTML page (no scripts, no external assets): for each
/// section and case a bar chart of every ratio column on a log scale (1 marked; red bars for
/// rows whose check failed), then the section's table.
///
/// ```
/// use sse_benches::report::{Record, html};
///
/// let records = [
///     Record::new("Parse", "token events", "ours").metric("ours ÷ this", 1.0),
///     Record::new("Parse", "token events", "peer <0.2>").metric("ours ÷ this", 1.9),
/// ];
/// let page = html(&records, "compare");
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// assert!(page.contains("<svg") && page.contains("peer &lt;0.2&gt;"));
/// // Self-contained: the only URL is the SVG namespace.
/// assert!(page.matches("http").count() == page.matches("http://www.w3.org/2000/svg").count());
/// ```
#[must_use]
pub fn html(records: &[Record], title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{}</title><style>\
         body{{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em}}\
         figure{{margin:1em 0}}figcaption{{font-weight:bold;font-size:14px}}\
         table{{border-collapse:collapse;font-size:12px;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:2px 6px}}td.n{{text-align:right}}</style></head><body>",
        escape(title)
    );
    let _ = writeln!(
        out,
        "<h1>{}</h1><p>Bars: each ratio of the table, on a log scale; the line is 1. For \
         <i>ours ÷ this</i> a bar right of the line means ours is faster; for <i>p99 ÷ best \
         recipe</i>, <i>server CPU ÷ floor</i> and <i>stalled ÷ normal p99</i> left of it is \
         better.</p>",
        escape(title)
    );
    for section in sections(records) {
        let rows: Vec<&Record> = records.iter().filter(|r| r.section == section).collect();
        let _ = writeln!(out, "<h2>{}</h2>", escape(section));
        let mut cases: Vec<&str> = Vec::new();
        for record in &rows {
            if !cases.contains(&record.case.as_str()) {
                cases.push(&record.case);
            }
        }
        for case in cases {
            let in_case: Vec<&Record> = rows.iter().copied().filter(|r| r.case == case).collect();
            for ratio in columns(&in_case).into_iter().filter(|name| is_ratio(name)) {
                let bars: Vec<(&str, f64, bool)> = in_case
                    .iter()
                    .filter_map(|r| Some((r.contender.as_str(), r.get(ratio)?, r.check == "ok")))
                    .collect();
                svg_chart(&mut out, &format!("{case}: {ratio}"), &bars);
            }
        }
        html_table(&mut out, &rows);
    }
    let _ = writeln!(out, "</body></html>");
    out
}
