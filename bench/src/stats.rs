//! Percentiles over a sample (nearest rank), in the unit of the sample.

/// The p-th percentile (0–100) by nearest rank; `None` on an empty sample.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Sorts in place (NaN last) so that [`percentile`] can be used.
pub fn sort(sample: &mut [f64]) {
    sample.sort_by(|a, b| a.total_cmp(b));
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_rank() {
        let s: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(super::percentile(&s, 50.0), Some(50.0));
        assert_eq!(super::percentile(&s, 99.0), Some(99.0));
        assert_eq!(super::percentile(&[], 50.0), None);
    }
}
