//! Percentiles over a sample (nearest rank) and medians, in the unit of the
//! sample.

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

/// The median of the finite values (the mean of the middle two for an even
/// count); `None` when there are none.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    sort(&mut v);
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
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

    #[test]
    fn median_of_the_finite_values() {
        assert_eq!(super::median([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(super::median([4.0, 1.0, f64::NAN, 2.0, 3.0]), Some(2.5));
        assert_eq!(super::median([f64::INFINITY]), None);
    }
}
