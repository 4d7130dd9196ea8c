package org.dashkeep.app.platform

import android.Manifest
import android.app.Application
import android.bluetooth.BluetoothAdapter
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothGatt
import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothGattDescriptor
import android.bluetooth.BluetoothGattService
import android.bluetooth.BluetoothManager
import android.bluetooth.le.ScanRecord
import android.bluetooth.le.ScanResult
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield
import org.dashkeep.ffi.BleDevice
import org.dashkeep.ffi.BleTransport
import org.dashkeep.ffi.PlatformException
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.annotation.Implementation
import org.robolectric.annotation.Implements
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowBluetoothGatt
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.UUID

/**
 * The Kotlin BLE central on Android's framework classes, fed by Robolectric's Bluetooth shadows:
 * scan results (one camera, one other device), and the GATT callbacks of a connection.
 */
@RunWith(RobolectricTestRunner::class)
@Config(shadows = [AndroidBleCentralTest.AcceptingGatt::class])
class AndroidBleCentralTest {
    /** Robolectric's GATT shadow, also accepting reads (its stack has no GATT service to ask). */
    @Implements(BluetoothGatt::class)
    class AcceptingGatt : ShadowBluetoothGatt() {
        @Implementation
        @Suppress("UNUSED_PARAMETER")
        fun readCharacteristic(characteristic: BluetoothGattCharacteristic): Boolean = true
    }

    private lateinit var app: Application
    private lateinit var adapter: BluetoothAdapter

    @Before
    fun setUp() {
        app = RuntimeEnvironment.getApplication()
        adapter = bluetoothOn(app)
    }

    @Test
    fun scanFindsOnlyDevicesAdvertisingTheDashkeepServiceAndStops() = runBlocking {
        val scanner = adapter.bluetoothLeScanner
        shadowOf(scanner).addScanResult(advertisement(CAMERA_ADDRESS, SERVICE, "Dashkeep DK-1"))
        shadowOf(scanner).addScanResult(advertisement(OTHER_ADDRESS, OTHER_SERVICE, "Headphones"))
        val found = AndroidBleCentral(app).scan(SERVICE.toString(), 200u)
        assertEquals(listOf(CAMERA_ADDRESS to "Dashkeep DK-1"), found.map { it.address to it.name })
        assertTrue("the scan was stopped", shadowOf(scanner).activeScans.isEmpty())
    }

    @Test
    fun theRealCoreFindsTheCameraThroughTheCentral() = runBlocking {
        shadowOf(adapter.bluetoothLeScanner).addScanResult(advertisement(CAMERA_ADDRESS, SERVICE, "Dashkeep DK-1"))
        shadowOf(adapter.bluetoothLeScanner).addScanResult(advertisement(OTHER_ADDRESS, OTHER_SERVICE, "Headphones"))
        val companion = RealCore.open()
        val found = companion.scanCameras(BleTransport.platform(AndroidBleCentral(app)), 300u)
        assertEquals(listOf(BleDevice(CAMERA_ADDRESS, "Dashkeep DK-1")), found)
        companion.close()
    }

    @Test
    fun bluetoothOffIsAPlatformErrorSayingSo() = runBlocking {
        shadowOf(adapter).setEnabled(false)
        val e = expectFailure { AndroidBleCentral(app).scan(SERVICE.toString(), 100u) }
        assertTrue(e.message, e.message!!.contains("Bluetooth is off"))
    }

    @Test
    fun connectReadWriteNotifyAndDisconnectOverGatt() = runBlocking {
        val camera = CameraGatt()
        val central = AndroidBleCentral(app)
        val handle = central.connect(CAMERA_ADDRESS, 2_000u)
        assertEquals("MTU asked before discovery", AndroidBleCentral.MTU, camera.mtuAsked)

        // Read: the stack answers through the API 33+ callback, which carries the value.
        val read = async { central.read(handle, INFO.toString()) }
        yield()
        camera.answerRead(INFO, byteArrayOf(1, 2, 3))
        assertArrayEquals(byteArrayOf(1, 2, 3), read.await())

        central.write(handle, CONTROL.toString(), byteArrayOf(9, 8))
        assertArrayEquals(byteArrayOf(9, 8), camera.shadow.latestWrittenBytes)

        central.subscribe(handle, EVENTS.toString())
        camera.notify(EVENTS, byteArrayOf(7))
        val n = central.nextNotification(handle, 500u)!!
        assertEquals(EVENTS.toString(), n.characteristic)
        assertArrayEquals(byteArrayOf(7), n.value)
        assertNull("no notification: null after the timeout", central.nextNotification(handle, 50u))

        central.disconnect(handle)
        assertTrue("the GATT client was closed", camera.shadow.isClosed)
        val e = expectFailure { central.read(handle, INFO.toString()) }
        assertTrue(e.message, e.message!!.contains("no connection"))
    }

    @Test
    fun aCameraThatNeverAnswersTimesOut() = runBlocking {
        CameraGatt(connects = false)
        val e = expectFailure { AndroidBleCentral(app).connect(CAMERA_ADDRESS, 150u) }
        assertTrue(e.message, e.message!!.contains("connect timed out"))
    }

    @Test
    fun aReadWithoutAnswerTimesOutAndAMissingCharacteristicIsNamed() = runBlocking {
        CameraGatt()
        val central = AndroidBleCentral(app, opTimeoutMs = 100)
        val handle = central.connect(CAMERA_ADDRESS, 2_000u)
        val timeout = expectFailure { central.read(handle, INFO.toString()) }
        assertTrue(timeout.message, timeout.message!!.contains("read timed out"))
        val missing = expectFailure { central.read(handle, OTHER_SERVICE.toString()) }
        assertTrue(missing.message, missing.message!!.contains("no characteristic"))
    }

    @Test
    fun theCameraDroppingTheLinkFailsTheOperationInFlight() = runBlocking {
        val camera = CameraGatt()
        val central = AndroidBleCentral(app)
        val handle = central.connect(CAMERA_ADDRESS, 2_000u)
        val read = async { runCatching { central.read(handle, INFO.toString()) } }
        yield()
        camera.shadow.gattCallback.onConnectionStateChange(camera.gatt, 8, BluetoothGatt.STATE_DISCONNECTED)
        val e = read.await().exceptionOrNull()
        assertTrue("$e", e is PlatformException && e.message!!.contains("disconnected"))
    }

    /** The camera's side of a GATT connection, through Robolectric's shadows. */
    private inner class CameraGatt(connects: Boolean = true) {
        lateinit var gatt: BluetoothGatt
        val shadow: ShadowBluetoothGatt get() = shadowOf(gatt)
        var mtuAsked = 0
        private val device: BluetoothDevice = adapter.getRemoteDevice(CAMERA_ADDRESS)

        init {
            shadowOf(device).setGattConnectionInterceptor { g ->
                gatt = g
                val service = BluetoothGattService(SERVICE, BluetoothGattService.SERVICE_TYPE_PRIMARY)
                for (uuid in listOf(INFO, CONTROL, EVENTS)) {
                    val ch = BluetoothGattCharacteristic(uuid, ALL_PROPERTIES, ALL_PERMISSIONS)
                    ch.addDescriptor(BluetoothGattDescriptor(AndroidBleCentral.CCCD, BluetoothGattDescriptor.PERMISSION_WRITE))
                    service.addCharacteristic(ch)
                    shadowOf(g).allowCharacteristicNotification(ch)
                }
                shadowOf(g).addDiscoverableService(service)
                val real = shadowOf(g).gattCallback
                centralCallback = real
                shadowOf(g).setGattCallback(object : android.bluetooth.BluetoothGattCallback() {
                    override fun onConnectionStateChange(gatt: BluetoothGatt, status: Int, newState: Int) =
                        real.onConnectionStateChange(gatt, status, newState)
                    override fun onMtuChanged(gatt: BluetoothGatt, mtu: Int, status: Int) {
                        mtuAsked = mtu
                        real.onMtuChanged(gatt, mtu, status)
                    }
                    override fun onServicesDiscovered(gatt: BluetoothGatt, status: Int) = real.onServicesDiscovered(gatt, status)
                    override fun onCharacteristicWrite(gatt: BluetoothGatt, ch: BluetoothGattCharacteristic, status: Int) =
                        real.onCharacteristicWrite(gatt, ch, status)
                    override fun onDescriptorWrite(gatt: BluetoothGatt, d: BluetoothGattDescriptor, status: Int) =
                        real.onDescriptorWrite(gatt, d, status)
                })
                if (connects) g.connect()
            }
        }

        fun characteristic(uuid: UUID): BluetoothGattCharacteristic = gatt.getService(SERVICE).getCharacteristic(uuid)

        fun answerRead(uuid: UUID, value: ByteArray) = callback().onCharacteristicRead(gatt, characteristic(uuid), value, BluetoothGatt.GATT_SUCCESS)

        fun notify(uuid: UUID, value: ByteArray) = callback().onCharacteristicChanged(gatt, characteristic(uuid), value)

        /** The central's own callback (the stack calls it). */
        private fun callback() = centralCallback ?: error("not connected")
    }

    private var centralCallback: android.bluetooth.BluetoothGattCallback? = null

    private suspend fun expectFailure(block: suspend () -> Unit): PlatformException {
        try {
            block()
        } catch (e: PlatformException) {
            return e
        }
        fail("expected a PlatformException")
        error("unreachable")
    }

    companion object {
        val SERVICE: UUID = UUID.fromString("6b9f0001-5d1e-4c2a-9a4e-d45ca3e00001")
        val INFO: UUID = UUID.fromString("6b9f0002-5d1e-4c2a-9a4e-d45ca3e00001")
        val CONTROL: UUID = UUID.fromString("6b9f0005-5d1e-4c2a-9a4e-d45ca3e00001")
        val EVENTS: UUID = UUID.fromString("6b9f0006-5d1e-4c2a-9a4e-d45ca3e00001")
        val OTHER_SERVICE: UUID = UUID.fromString("0000180d-0000-1000-8000-00805f9b34fb")
        const val CAMERA_ADDRESS = "AA:BB:CC:00:11:22"
        const val OTHER_ADDRESS = "AA:BB:CC:00:11:33"
        const val ALL_PROPERTIES = BluetoothGattCharacteristic.PROPERTY_READ or
            BluetoothGattCharacteristic.PROPERTY_WRITE or BluetoothGattCharacteristic.PROPERTY_NOTIFY
        const val ALL_PERMISSIONS = BluetoothGattCharacteristic.PERMISSION_READ or BluetoothGattCharacteristic.PERMISSION_WRITE

        /** The app may scan and connect, and the phone's Bluetooth is on: its adapter. */
        fun bluetoothOn(app: Application): BluetoothAdapter {
            shadowOf(app).grantPermissions(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT)
            return app.getSystemService(BluetoothManager::class.java).adapter.also { shadowOf(it).setEnabled(true) }
        }

        /** A scan result advertising `service` (complete 128-bit list) and `name`, as on air. */
        fun advertisement(address: String, service: UUID, name: String): ScanResult {
            val uuid = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(service.leastSignificantBits).putLong(service.mostSignificantBits).array()
            val nameBytes = name.toByteArray()
            val bytes = byteArrayOf(2, 0x01, 0x06) +
                byteArrayOf(17, 0x07) + uuid +
                byteArrayOf((nameBytes.size + 1).toByte(), 0x09) + nameBytes
            val device = BluetoothAdapter.getDefaultAdapter().getRemoteDevice(address)
            @Suppress("DEPRECATION")
            return ScanResult(device, ScanRecord.parseFromBytes(bytes), -50, 0L)
        }
    }
}
