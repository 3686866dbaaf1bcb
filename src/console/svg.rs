//! Charts as inline SVG, written on the server (no script, no style attribute: the pages'
//! Content-Security-Policy allows neither): a small trend line for the 热点 list and a line
//! chart with axes and a legend for 统计. Every text in them is escaped here; the templates
//! insert the result as it is.

use std::fmt::Write;

/// The colours of a chart's lines, in order (readable on white, told apart without colour by
/// the legend's order and the table beside every chart).
const PALETTE: [&str; 8] = [
    "#1f5fa8", "#c0392b", "#2e8b57", "#b8860b", "#6a3d9a", "#d35400", "#16787e", "#7f7f7f",
];

/// `text` escaped for an SVG (XML) text node or attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The points of `values` in a `width`×`height` box (inset by `pad`), scaled to `max`.
fn points(values: &[u64], max: u64, (x0, y0, width, height): (f64, f64, f64, f64)) -> String {
    let n = values.len().max(2) - 1;
    let max = max.max(1) as f64;
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        let x = x0 + width * i as f64 / n as f64;
        let y = y0 + height - height * (*v as f64) / max;
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    out.trim_end().to_string()
}

/// A small trend line of `values` (oldest first), labelled for screen readers by `label`.
pub fn sparkline(values: &[u64], label: &str) -> String {
    let (width, height) = (120.0, 28.0);
    let max = values.iter().copied().max().unwrap_or(0);
    let line = points(values, max, (2.0, 2.0, width - 4.0, height - 4.0));
    format!(
        "<svg class=\"spark\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{label}\">\
         <title>{label}</title>\
         <polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.8\" points=\"{line}\"/></svg>",
        label = escape(label),
        colour = PALETTE[0],
    )
}

/// One line of a chart.
pub struct Line {
    pub label: String,
    /// One value per x label.
    pub values: Vec<u64>,
}

/// A line chart of `lines` over `x_labels` (the first, the middle and the last shown), with
/// its y axis' maximum, a legend, and `title` for screen readers.
pub fn line_chart(title: &str, x_labels: &[String], lines: &[Line]) -> String {
    let (width, height) = (640.0, 240.0);
    let (left, top, right, bottom) = (40.0, 12.0, 12.0, 28.0);
    let plot = (left, top, width - left - right, height - top - bottom);
    let max = lines
        .iter()
        .flat_map(|l| l.values.iter().copied())
        .max()
        .unwrap_or(0);
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = escape(title)
    );
    // Axes and the y axis' 0 and maximum.
    let (x0, y0, w, h) = plot;
    let _ = write!(
        svg,
        "<g stroke=\"#999\" stroke-width=\"1\"><line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{yb}\"/>\
         <line x1=\"{x0}\" y1=\"{yb}\" x2=\"{xr}\" y2=\"{yb}\"/></g>\
         <g font-size=\"11\" fill=\"#444\"><text x=\"{tx}\" y=\"{yt}\" text-anchor=\"end\">{max}</text>\
         <text x=\"{tx}\" y=\"{yb}\" text-anchor=\"end\">0</text>",
        yb = y0 + h,
        xr = x0 + w,
        tx = x0 - 4.0,
        yt = y0 + 8.0,
    );
    let n = x_labels.len();
    if n > 0 {
        let mut shown = vec![0, n / 2, n - 1];
        shown.dedup();
        for i in shown {
            let x = if n == 1 {
                x0
            } else {
                x0 + w * i as f64 / (n - 1) as f64
            };
            let anchor = match i {
                0 => "start",
                i if i == n - 1 => "end",
                _ => "middle",
            };
            let _ = write!(
                svg,
                "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\">{label}</text>",
                y = y0 + h + 16.0,
                label = escape(&x_labels[i])
            );
        }
    }
    svg.push_str("</g>");
    for (i, line) in lines.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{p}\">\
             <title>{label}</title></polyline>",
            p = points(&line.values, max, plot),
            label = escape(&line.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The legend of a chart's lines: (label, colour) in the lines' order.
pub fn legend(lines: &[Line]) -> Vec<(String, &'static str)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| (l.label.clone(), PALETTE[i % PALETTE.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_escapes_its_texts_and_draws_one_line_per_series() {
        let lines = vec![
            Line {
                label: "<热线>".into(),
                values: vec![1, 4, 2],
            },
            Line {
                label: "网上".into(),
                values: vec![0, 0, 3],
            },
        ];
        let labels = vec!["12-01".to_string(), "12-02".into(), "12-03".into()];
        let svg = line_chart("按渠道 & 日", &labels, &lines);
        assert!(
            svg.contains("&lt;热线&gt;") && !svg.contains("<热线>"),
            "{svg}"
        );
        assert!(svg.contains("按渠道 &amp; 日"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(">4</text>"), "the y axis' maximum: {svg}");
        assert!(!svg.contains("style="), "no style attribute (CSP)");
    }

    #[test]
    fn a_sparkline_rises_where_its_values_rise() {
        let svg = sparkline(&[0, 5], "趋势");
        // Two points: the first at the bottom (y 26), the second at the top (y 2).
        assert!(svg.contains("points=\"2.0,26.0 118.0,2.0\""), "{svg}");
        let flat = sparkline(&[], "无");
        assert!(flat.contains("<polyline"));
    }
}
