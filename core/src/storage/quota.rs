//! The quota: the share of the phone's storage the user gives Dashkeep, and the safety floor of
//! free space the phone keeps whatever the quota says.

use serde::Serialize;

use super::{StorageError, VolumeSpace};

/// The share of the phone's storage Dashkeep may use, as the user set it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuotaFraction(f64);

impl QuotaFraction {
    /// The default: half the phone's storage.
    pub const DEFAULT: Self = Self(0.5);
    /// The smallest share a user may choose.
    pub const MIN: f64 = 0.1;
    /// The largest share a user may choose.
    pub const MAX: f64 = 0.9;

    /// A fraction between [`Self::MIN`] and [`Self::MAX`].
    pub fn new(fraction: f64) -> Result<Self, StorageError> {
        if (Self::MIN..=Self::MAX).contains(&fraction) {
            Ok(Self(fraction))
        } else {
            Err(StorageError::QuotaOutOfRange(fraction))
        }
    }

    /// The fraction, from 0.1 to 0.9.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Default for QuotaFraction {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Free space the phone keeps for itself whatever the quota: the larger of `min_bytes` and
/// `fraction` of the volume.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SafetyFloor {
    /// The least free space, in bytes.
    pub min_bytes: u64,
    /// The least free space, as a share of the volume.
    pub fraction: f64,
}

impl Default for SafetyFloor {
    /// max(1 GiB, 5%): room for the OS and other apps to work.
    fn default() -> Self {
        Self { min_bytes: 1 << 30, fraction: 0.05 }
    }
}

impl SafetyFloor {
    /// The floor for a volume of `total` bytes.
    pub fn bytes(&self, total: u64) -> u64 {
        self.min_bytes.max((total as f64 * self.fraction) as u64)
    }
}

/// How much Dashkeep may hold now, from the quota, the volume and what it holds already.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Budget {
    /// The user's share.
    pub fraction: f64,
    /// The share in bytes.
    pub quota_bytes: u64,
    /// Free space the phone keeps for itself.
    pub floor_bytes: u64,
    /// What Dashkeep may hold: the quota, or less when the volume is nearly full.
    pub limit_bytes: u64,
    /// What Dashkeep holds (the catalog's count of its files).
    pub owned_bytes: u64,
    /// The volume.
    pub volume: VolumeSpace,
}

impl Budget {
    /// The budget for `owned` bytes on `volume` under `fraction` and `floor`.
    pub fn new(
        fraction: QuotaFraction,
        floor: SafetyFloor,
        volume: VolumeSpace,
        owned: u64,
    ) -> Self {
        let quota_bytes = (volume.total_bytes as f64 * fraction.get()) as u64;
        let floor_bytes = floor.bytes(volume.total_bytes);
        let headroom = volume.available_bytes.saturating_sub(floor_bytes);
        let limit_bytes = quota_bytes.min(owned.saturating_add(headroom));
        Self {
            fraction: fraction.get(),
            quota_bytes,
            floor_bytes,
            limit_bytes,
            owned_bytes: owned,
            volume,
        }
    }

    /// Bytes Dashkeep may still write before the loop recorder must evict.
    pub fn free_bytes(&self) -> u64 {
        self.limit_bytes.saturating_sub(self.owned_bytes)
    }

    /// How far below the limit eviction frees, so the recorder does not run for every segment:
    /// 2% of the limit, at most 1 GiB (a few segments; more would delete in one long burst).
    pub fn hysteresis_bytes(&self) -> u64 {
        (self.limit_bytes / 50).min(1 << 30)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn quota_is_a_share_of_the_volume() {
        let volume = VolumeSpace { total_bytes: 100 * GIB, available_bytes: 80 * GIB };
        let b = Budget::new(QuotaFraction::DEFAULT, SafetyFloor::default(), volume, 10 * GIB);
        assert_eq!(b.quota_bytes, 50 * GIB);
        assert_eq!(b.limit_bytes, 50 * GIB);
        assert_eq!(b.free_bytes(), 40 * GIB);
    }

    #[test]
    fn the_floor_wins_over_the_quota_on_a_full_phone() {
        // 6 GiB free on a 100 GiB phone: the floor is 5 GiB, so only 1 GiB more may be written.
        let volume = VolumeSpace { total_bytes: 100 * GIB, available_bytes: 6 * GIB };
        let b = Budget::new(QuotaFraction::DEFAULT, SafetyFloor::default(), volume, 10 * GIB);
        assert_eq!(b.floor_bytes, 5 * GIB);
        assert_eq!(b.limit_bytes, 11 * GIB);
        assert_eq!(b.free_bytes(), GIB);
    }

    #[test]
    fn fractions_outside_the_range_are_refused() {
        assert!(QuotaFraction::new(0.05).is_err());
        assert!(QuotaFraction::new(0.95).is_err());
        assert!(QuotaFraction::new(f64::NAN).is_err());
        assert_eq!(QuotaFraction::new(0.3).map(QuotaFraction::get).ok(), Some(0.3));
    }
}
