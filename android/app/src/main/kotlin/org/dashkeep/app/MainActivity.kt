package org.dashkeep.app

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import org.dashkeep.app.ui.DashkeepNavigation

/** The one activity: Compose renders the view models. */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val companion = (application as DashkeepApp).companion
        setContent { MaterialTheme { DashkeepNavigation(companion) } }
    }
}
