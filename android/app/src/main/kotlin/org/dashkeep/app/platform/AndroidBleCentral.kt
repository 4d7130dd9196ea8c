package org.dashkeep.app.platform

import android.annotation.SuppressLint
import android.bluetooth.BluetoothAdapter
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothGatt
import android.bluetooth.BluetoothGattCallback
import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothGattDescriptor
import android.bluetooth.BluetoothManager
import android.bluetooth.BluetoothProfile
import android.bluetooth.le.ScanCallback
import android.bluetooth.le.ScanFilter
import android.bluetooth.le.ScanResult
import android.bluetooth.le.ScanSettings
import android.content.Context
import android.os.Build
import android.os.ParcelUuid
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.dashkeep.ffi.BleCentral
import org.dashkeep.ffi.BleDevice
import org.dashkeep.ffi.GattNotification
import org.dashkeep.ffi.PlatformException
import java.util.UUID
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

/**
 * The core's `BleCentral` on Android's own Bluetooth stack (`android.bluetooth.le`), handed to
 * `BleTransport.platform`: a scan filtered on the Dashkeep service UUID, GATT connect with an
 * MTU request and service discovery, reads, writes, notifications and disconnect. GATT allows one
 * operation in flight per connection, so each connection runs its operations one at a time; every
 * wait is bounded by a timeout, and every failure is a `PlatformException` whose message says
 * what failed (the core maps it to its typed BLE error and retries or reports).
 *
 * Callers must hold the runtime permissions of [BlePermissions] (BLUETOOTH_SCAN/CONNECT on 31+,
 * location on 26 to 30); a missing one is reported as such, not as a crash.
 */
class AndroidBleCentral(
    private val context: Context,
    private val opTimeoutMs: Long = OP_TIMEOUT_MS,
) : BleCentral {
    private val adapter: BluetoothAdapter? =
        context.getSystemService(BluetoothManager::class.java)?.adapter
    private val connections = ConcurrentHashMap<Long, Connection>()
    private val nextHandle = AtomicLong(1)

    @SuppressLint("MissingPermission")
    override suspend fun scan(service: String, timeoutMs: ULong): List<BleDevice> = guarded("scan") {
        val scanner = on().bluetoothLeScanner ?: throw failed("Bluetooth is off")
        val uuid = parseUuid(service)
        val found = LinkedHashMap<String, String>()
        val failure = CompletableDeferred<Int>()
        val callback = object : ScanCallback() {
            override fun onScanResult(callbackType: Int, result: ScanResult) = record(result)
            override fun onBatchScanResults(results: MutableList<ScanResult>) = results.forEach(::record)
            override fun onScanFailed(errorCode: Int) { failure.complete(errorCode) }

            private fun record(result: ScanResult) {
                // The filter already matched the service; check again for stacks that ignore it.
                val advertised = result.scanRecord?.serviceUuids.orEmpty()
                if (advertised.isNotEmpty() && ParcelUuid(uuid) !in advertised) return
                val name = result.scanRecord?.deviceName ?: deviceName(result.device)
                synchronized(found) { found[result.device.address] = name }
            }
        }
        val filter = ScanFilter.Builder().setServiceUuid(ParcelUuid(uuid)).build()
        val settings = ScanSettings.Builder().setScanMode(ScanSettings.SCAN_MODE_LOW_LATENCY).build()
        scanner.startScan(listOf(filter), settings, callback)
        try {
            val code = withTimeoutOrNull(timeoutMs.toLong()) { failure.await() }
            if (code != null) throw failed("scan failed (code $code)")
        } finally {
            runCatching { scanner.stopScan(callback) }
        }
        synchronized(found) { found.map { (address, name) -> BleDevice(address, name) } }
    }

    @SuppressLint("MissingPermission")
    override suspend fun connect(address: String, timeoutMs: ULong): ULong = guarded("connect") {
        val adapter = on()
        if (!BluetoothAdapter.checkBluetoothAddress(address)) throw failed("not a Bluetooth address: $address")
        val connection = Connection()
        val gatt = adapter.getRemoteDevice(address)
            .connectGatt(context, false, connection.callback, BluetoothDevice.TRANSPORT_LE)
            ?: throw failed("the stack refused to connect to $address")
        connection.gatt = gatt
        try {
            withTimeout(timeoutMs.toLong()) {
                connection.connected.await()
                // A larger MTU lets a 180-byte write go in one packet; a refusal keeps 23.
                connection.expect(Op.MTU) { gatt.requestMtu(MTU) }
                connection.expect(Op.DISCOVER) { gatt.discoverServices() }
            }
        } catch (e: Throwable) {
            gatt.close()
            throw e
        }
        val handle = nextHandle.getAndIncrement()
        connections[handle] = connection
        handle.toULong()
    }

    @SuppressLint("MissingPermission")
    @Suppress("DEPRECATION")
    override suspend fun read(handle: ULong, characteristic: String): ByteArray = guarded("read") {
        val c = connection(handle)
        c.serial {
            val ch = c.characteristic(characteristic)
            c.expect(Op.READ) { c.gatt.readCharacteristic(ch) }
        }
    }

    @SuppressLint("MissingPermission")
    @Suppress("DEPRECATION")
    override suspend fun write(handle: ULong, characteristic: String, value: ByteArray) = guarded("write") {
        val c = connection(handle)
        c.serial {
            val ch = c.characteristic(characteristic)
            c.expect(Op.WRITE) {
                if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                    c.gatt.writeCharacteristic(ch, value, BluetoothGattCharacteristic.WRITE_TYPE_DEFAULT) ==
                        BluetoothGatt.GATT_SUCCESS
                } else {
                    ch.writeType = BluetoothGattCharacteristic.WRITE_TYPE_DEFAULT
                    ch.value = value
                    c.gatt.writeCharacteristic(ch)
                }
            }
        }
        Unit
    }

    @SuppressLint("MissingPermission")
    @Suppress("DEPRECATION")
    override suspend fun subscribe(handle: ULong, characteristic: String) = guarded("subscribe") {
        val c = connection(handle)
        c.serial {
            val ch = c.characteristic(characteristic)
            if (!c.gatt.setCharacteristicNotification(ch, true)) throw failed("notifications refused")
            val cccd = ch.getDescriptor(CCCD) ?: throw failed("$characteristic has no notification descriptor")
            val enable = BluetoothGattDescriptor.ENABLE_NOTIFICATION_VALUE
            c.expect(Op.DESCRIPTOR) {
                if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                    c.gatt.writeDescriptor(cccd, enable) == BluetoothGatt.GATT_SUCCESS
                } else {
                    cccd.value = enable
                    c.gatt.writeDescriptor(cccd)
                }
            }
        }
        Unit
    }

    override suspend fun nextNotification(handle: ULong, timeoutMs: ULong): GattNotification? = guarded("notification") {
        val c = connection(handle)
        withTimeoutOrNull(timeoutMs.toLong()) { c.notifications.receive() }
    }

    @SuppressLint("MissingPermission")
    override suspend fun disconnect(handle: ULong) = guarded("disconnect") {
        val c = connections.remove(handle.toLong()) ?: return@guarded
        runCatching { c.gatt.disconnect() }
        // Give the stack a moment to send the disconnect before the client is released.
        withTimeoutOrNull(DISCONNECT_WAIT_MS) { c.disconnected.await() }
        c.gatt.close()
        c.notifications.close()
    }

    /** The adapter, when Bluetooth is on. */
    private fun on(): BluetoothAdapter {
        val a = adapter ?: throw failed("this phone has no Bluetooth")
        if (!a.isEnabled) throw failed("Bluetooth is off")
        return a
    }

    private fun connection(handle: ULong) =
        connections[handle.toLong()] ?: throw failed("no connection $handle (disconnected)")

    @SuppressLint("MissingPermission")
    private fun deviceName(device: BluetoothDevice): String =
        runCatching { device.name }.getOrNull().orEmpty()

    /** Bounds a call and turns every failure into the core's platform error. */
    private suspend fun <T> guarded(what: String, block: suspend () -> T): T = try {
        block()
    } catch (e: PlatformException) {
        throw e
    } catch (e: TimeoutCancellationException) {
        throw failed("$what timed out")
    } catch (e: SecurityException) {
        throw failed("$what: Bluetooth permission missing")
    } catch (e: IllegalArgumentException) {
        throw failed("$what: ${e.message}")
    }

    private enum class Op { MTU, DISCOVER, READ, WRITE, DESCRIPTOR }

    /** One GATT connection: its client, the operation in flight, its notifications. */
    private inner class Connection {
        lateinit var gatt: BluetoothGatt
        val connected = CompletableDeferred<Unit>()
        val disconnected = CompletableDeferred<Unit>()
        val notifications = Channel<GattNotification>(Channel.UNLIMITED)
        private val lock = Mutex()
        @Volatile private var pending: Pair<Op, CompletableDeferred<ByteArray>>? = null

        suspend fun <T> serial(block: suspend () -> T): T = lock.withLock { block() }

        fun characteristic(uuid: String): BluetoothGattCharacteristic {
            val id = parseUuid(uuid)
            return gatt.services.firstNotNullOfOrNull { it.getCharacteristic(id) }
                ?: throw failed("the camera has no characteristic $uuid")
        }

        /** Starts `op` and waits (bounded) for its callback; its value (reads) or empty. */
        suspend fun expect(op: Op, start: () -> Boolean): ByteArray {
            val done = CompletableDeferred<ByteArray>()
            pending = op to done
            try {
                if (!start()) throw failed("the stack refused ${op.name.lowercase()}")
                return withTimeout(opTimeoutMs) { done.await() }
            } finally {
                pending = null
            }
        }

        private fun finish(op: Op, status: Int, value: ByteArray = ByteArray(0)) {
            val (expected, done) = pending ?: return
            if (expected != op) return
            if (status == BluetoothGatt.GATT_SUCCESS) done.complete(value)
            else done.completeExceptionally(failed("${op.name.lowercase()} failed (GATT status $status)"))
        }

        val callback = object : BluetoothGattCallback() {
            override fun onConnectionStateChange(gatt: BluetoothGatt, status: Int, newState: Int) {
                when (newState) {
                    BluetoothProfile.STATE_CONNECTED -> connected.complete(Unit)
                    BluetoothProfile.STATE_DISCONNECTED -> {
                        val lost = failed("the camera disconnected (status $status)")
                        connected.completeExceptionally(lost)
                        disconnected.complete(Unit)
                        pending?.second?.completeExceptionally(lost)
                        notifications.close(lost)
                    }
                }
            }

            // A refused MTU keeps the default: not a failure.
            override fun onMtuChanged(gatt: BluetoothGatt, mtu: Int, status: Int) =
                finish(Op.MTU, BluetoothGatt.GATT_SUCCESS)

            override fun onServicesDiscovered(gatt: BluetoothGatt, status: Int) = finish(Op.DISCOVER, status)

            // API 33+ passes the value; below 33 it is on the characteristic (deprecated).
            override fun onCharacteristicRead(gatt: BluetoothGatt, ch: BluetoothGattCharacteristic, value: ByteArray, status: Int) =
                finish(Op.READ, status, value)

            @Suppress("OVERRIDE_DEPRECATION", "DEPRECATION")
            override fun onCharacteristicRead(gatt: BluetoothGatt, ch: BluetoothGattCharacteristic, status: Int) {
                if (Build.VERSION.SDK_INT < Build.VERSION_CODES.TIRAMISU) finish(Op.READ, status, ch.value ?: ByteArray(0))
            }

            override fun onCharacteristicWrite(gatt: BluetoothGatt, ch: BluetoothGattCharacteristic, status: Int) =
                finish(Op.WRITE, status)

            override fun onDescriptorWrite(gatt: BluetoothGatt, d: BluetoothGattDescriptor, status: Int) =
                finish(Op.DESCRIPTOR, status)

            override fun onCharacteristicChanged(gatt: BluetoothGatt, ch: BluetoothGattCharacteristic, value: ByteArray) {
                notifications.trySend(GattNotification(ch.uuid.toString(), value))
            }

            @Suppress("OVERRIDE_DEPRECATION", "DEPRECATION")
            override fun onCharacteristicChanged(gatt: BluetoothGatt, ch: BluetoothGattCharacteristic) {
                if (Build.VERSION.SDK_INT < Build.VERSION_CODES.TIRAMISU) {
                    notifications.trySend(GattNotification(ch.uuid.toString(), ch.value ?: ByteArray(0)))
                }
            }
        }
    }

    companion object {
        /** Reads, writes and subscriptions: the core bounds them at 10 s, answer before. */
        const val OP_TIMEOUT_MS = 8_000L
        /** The MTU asked for: 180-byte writes plus the ATT header. */
        const val MTU = 185
        private const val DISCONNECT_WAIT_MS = 1_000L
        /** The Client Characteristic Configuration descriptor (notifications on/off). */
        val CCCD: UUID = UUID.fromString("00002902-0000-1000-8000-00805f9b34fb")

        private fun failed(detail: String) = PlatformException.Failed(detail)

        private fun parseUuid(s: String): UUID = try {
            UUID.fromString(s)
        } catch (e: IllegalArgumentException) {
            throw failed("not a UUID: $s")
        }
    }
}
