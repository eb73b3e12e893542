from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('grants', '0002_discussion_comment')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Edition',
            name='form_version',
            field=fields.IntField(default=0),
        ),
    ]
