from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('grants', '0003_edition_form_version')]

    initial = False

    operations = [
        ops.RemoveField(
            model_name='Edition',
            name='form_version',
        ),
    ]
