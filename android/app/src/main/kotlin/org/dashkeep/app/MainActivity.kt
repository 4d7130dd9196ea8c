package org.dashkeep.app

import android.app.AlertDialog
import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.provider.Settings
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import org.dashkeep.app.platform.CoreOwner
import org.dashkeep.app.platform.Permissions
import org.dashkeep.app.ui.DashkeepNavigation

/**
 * The one activity. It renders the core's state from the application's owner (opening, failed
 * with its message and "Try again", or the app's screens), so a rotation recreates only this
 * activity: the core and everything kept in `DashkeepApp.retained` stay. It also asks for the
 * runtime permissions of a step at the moment the step starts ([withPermissions]) and explains a
 * refusal.
 */
class MainActivity : ComponentActivity() {
    private val app get() = application as DashkeepApp
    private var pending: Pair<Permissions.Step, () -> Unit>? = null

    private val ask = registerForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { result ->
        val (step, then) = pending ?: return@registerForActivityResult
        pending = null
        if (result.values.all { it }) then() else explainRefusal(step)
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent {
            MaterialTheme {
                val state by app.core.state.collectAsState()
                when (val s = state) {
                    is CoreOwner.State.Opening -> Centered { CircularProgressIndicator() }
                    is CoreOwner.State.Failed -> Centered {
                        Text(s.message)
                        Button(onClick = { app.core.retry() }) { Text("Try again") }
                    }
                    is CoreOwner.State.Ready -> DashkeepNavigation(s.companion)
                }
            }
        }
    }

    /** Runs `then` once `step`'s permissions are granted, asking for the missing ones first. */
    fun withPermissions(step: Permissions.Step, then: () -> Unit) {
        val missing = Permissions.missing(this, step)
        if (missing.isEmpty()) return then()
        pending = step to then
        ask.launch(missing.toTypedArray())
    }

    private fun explainRefusal(step: Permissions.Step) {
        AlertDialog.Builder(this)
            .setMessage(Permissions.explanation(step))
            .setPositiveButton("Open settings") { _, _ ->
                startActivity(Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", packageName, null)))
            }
            .setNegativeButton("Not now", null)
            .show()
    }
}

@androidx.compose.runtime.Composable
private fun Centered(content: @androidx.compose.runtime.Composable () -> Unit) {
    Column(
        Modifier.fillMaxSize().padding(24.dp),
        verticalArrangement = Arrangement.spacedBy(16.dp, Alignment.CenterVertically),
        horizontalAlignment = Alignment.CenterHorizontally,
    ) { content() }
}
