//! Pagination. A NextToken is opaque to clients; inside it names the listing it belongs to and
//! the creation sequence number of the last item returned, so records deleted between pages
//! never make a page skip a survivor. The last page carries no token (paginators stop there).

use super::errors::{ApiError, ApiResult};

pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
    /// Matches in the whole listing (ApproximateTotalCount).
    pub total: usize,
}

/// One page of `items` (in ascending sequence order, already filtered) after `token`.
pub fn page<T>(
    listing: &str,
    items: impl IntoIterator<Item = (u64, T)>,
    token: Option<&str>,
    max: usize,
) -> ApiResult<Page<T>> {
    let after = token.map(|t| decode(listing, t)).transpose()?.unwrap_or(0);
    let all: Vec<(u64, T)> = items.into_iter().collect();
    let total = all.len();
    let mut rest = all.into_iter().filter(|(seq, _)| *seq > after).peekable();
    let mut page = Vec::with_capacity(max.min(total));
    let mut last = after;
    while page.len() < max {
        match rest.next() {
            Some((seq, item)) => {
                last = seq;
                page.push(item);
            }
            None => break,
        }
    }
    let next_token = rest.peek().is_some().then(|| encode(listing, last));
    Ok(Page {
        items: page,
        next_token,
        total,
    })
}

fn encode(listing: &str, seq: u64) -> String {
    format!("{listing}:{seq}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode(listing: &str, token: &str) -> ApiResult<u64> {
    let invalid = || {
        ApiError::invalid_parameter(
            "1 validation error detected: Value at 'NextToken' failed to satisfy constraint: the token is not valid for this request",
        )
    };
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return Err(invalid());
    }
    let bytes: Vec<u8> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    match text.rsplit_once(':') {
        Some((l, seq)) if l == listing => seq.parse().map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once_and_the_last_has_no_token() {
        let items: Vec<(u64, u64)> = (1..=5).map(|i| (i * 10, i)).collect();
        let p1 = page("L", items.clone(), None, 2).unwrap();
        assert_eq!((p1.items.clone(), p1.total), (vec![1, 2], 5));
        let p2 = page("L", items.clone(), p1.next_token.as_deref(), 2).unwrap();
        assert_eq!(p2.items, vec![3, 4]);
        let p3 = page("L", items.clone(), p2.next_token.as_deref(), 2).unwrap();
        assert_eq!((p3.items, p3.next_token), (vec![5], None));
        // Exactly full last page: no empty trailing page.
        let p = page("L", items.clone(), None, 5).unwrap();
        assert!(p.next_token.is_none());
        // A token of another listing, or garbage, is rejected.
        assert!(page("M", items.clone(), p1.next_token.as_deref(), 2).is_err());
        assert!(page("L", items, Some("zz"), 2).is_err());
    }
}
