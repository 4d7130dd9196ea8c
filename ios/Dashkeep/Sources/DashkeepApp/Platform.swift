import DashkeepFFI
import Foundation
import NetworkExtension
import Security

/// Joins the camera's WiFi for the core (`WifiJoiner`) with NEHotspotConfiguration; iOS routes
/// the camera's subnet over it by itself. Needs the Hotspot Configuration entitlement. The
/// passphrase goes to the system only.
final class HotspotWifiJoiner: WifiJoiner, @unchecked Sendable {
    func join(ssid: String, passphrase: String) async throws {
        let configuration = NEHotspotConfiguration(ssid: ssid, passphrase: passphrase, isWEP: false)
        configuration.joinOnce = true
        do {
            try await NEHotspotConfigurationManager.shared.apply(configuration)
        } catch let error as NSError where error.domain == NEHotspotConfigurationErrorDomain
            && error.code == NEHotspotConfigurationError.alreadyAssociated.rawValue {
            return
        } catch {
            throw PlatformError.Failed(detail: "could not join \(ssid): \(error.localizedDescription)")
        }
    }

    func leave(ssid: String) async {
        NEHotspotConfigurationManager.shared.removeConfiguration(forSSID: ssid)
    }
}

/// The core's `SecretStore` in the Keychain: generic passwords of this device only, readable
/// after the first unlock (streaming runs in the background).
final class KeychainSecretStore: SecretStore, @unchecked Sendable {
    private let service = "org.dashkeep.pairings"

    private func query(_ key: String) -> [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: service,
         kSecAttrAccount as String: key]
    }

    func load(key: String) throws -> Data? {
        var q = query(key)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &item)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess else { throw PlatformError.Failed(detail: "keychain read: \(status)") }
        return item as? Data
    }

    /// Updates the item in place (SecItemUpdate), adding it only when there is none: never a
    /// delete then an add, which would lose every pairing if the add failed in between.
    func save(key: String, value: Data) throws {
        let changes: [String: Any] = [
            kSecValueData as String: value,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        var status = SecItemUpdate(query(key) as CFDictionary, changes as CFDictionary)
        if status == errSecItemNotFound {
            let q = query(key).merging(changes) { _, new in new }
            status = SecItemAdd(q as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw PlatformError.Failed(detail: "keychain write: \(status)") }
    }

    func delete(key: String) throws {
        let status = SecItemDelete(query(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw PlatformError.Failed(detail: "keychain delete: \(status)")
        }
    }
}

/// The cloud account, as on Android: endpoint, region, bucket, account and path style in the
/// app's defaults, the access and secret keys in the Keychain. Without an account (or with keys
/// this phone cannot read, after a restore) the app runs without a cloud.
struct CloudAccountStore {
    let secrets: KeychainSecretStore
    private let defaults = UserDefaults.standard

    /// The core's settings for the stored account, uploaded by the background session.
    func settings() -> CloudSettings? {
        guard let bucket = defaults.string(forKey: "cloud.bucket"),
              let account = defaults.string(forKey: "cloud.account"),
              let access = (try? secrets.load(key: "dashkeep.cloud.access-key")) ?? nil,
              let secret = (try? secrets.load(key: "dashkeep.cloud.secret-key")) ?? nil else { return nil }
        let backend = CloudBackendSettings.s3(
            endpoint: defaults.string(forKey: "cloud.endpoint"),
            region: defaults.string(forKey: "cloud.region") ?? "us-east-1",
            bucket: bucket,
            accessKey: CloudSecret(value: String(decoding: access, as: UTF8.self)),
            secretKey: CloudSecret(value: String(decoding: secret, as: UTF8.self)),
            sessionToken: nil,
            pathStyle: defaults.bool(forKey: "cloud.pathStyle"))
        return CloudSettings(backend: backend, account: account, uploadsByPlatform: true)
    }
}
